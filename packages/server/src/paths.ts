import { readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

/** The agent, bundled into one file by apps/agent's build. */
export function agentBundlePath(): string {
  return join(dirname(require.resolve('@boottorrent/agent/package.json')), 'dist/agent.mjs');
}

/** The repository root when running from a checkout (tools/setup.sh unpacks host parts there); the CLI is bundled into apps/cli/dist/cli.js. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/**
 * Where phase-1's host parts (kernel + modules, static busybox, kexec) are looked for: the given
 * roots, then `/`, then every package tools/setup.sh or `lab --install-deps` unpacked.
 */
export async function hostSearchRoots(extra: readonly string[] = []): Promise<string[]> {
  const roots = [...extra.map((r) => resolve(r)), '/'];
  for (const cache of [join(REPO_ROOT, '.cache/deb'), join(cacheHome(), 'deb')]) {
    const subdirs = await readdir(cache).catch(() => [] as string[]);
    roots.push(...subdirs.sort().map((d) => join(cache, d)));
  }
  return [...new Set(roots)];
}

/** Per-user cache for unpacked Debian packages and the lab's demo project. */
export function cacheHome(): string {
  const base = process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? '/root', '.cache');
  return join(base, 'boottorrent');
}
