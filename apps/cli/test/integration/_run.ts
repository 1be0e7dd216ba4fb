import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built CLI (`npm run build` first), run as a real subprocess. */
export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

/** The repository root. */
export const REPO = fileURLToPath(new URL('../../../../', import.meta.url));

/** XDG_CACHE_HOME of the lab tests: phase-1 and unpacked packages are built once and shared. */
export const E2E_CACHE = join(REPO, '.cache/e2e');

export function run(args: string[], opts: { cwd?: string } = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: opts.cwd, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * `boottorrent lab --work-dir <workDir> --json …args` as a child with the shared cache; resolves
 * with its exit code and output once it ends (the lab cleans up before it exits).
 */
export function runLab(
  workDir: string,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'lab', '--work-dir', workDir, '--json', ...args], {
      env: { ...process.env, XDG_CACHE_HOME: E2E_CACHE },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
