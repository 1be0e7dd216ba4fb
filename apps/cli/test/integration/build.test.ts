import { spawnSync } from 'node:child_process';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI } from './_run.js';

/**
 * `boottorrent build` maps `phase1.compression` onto the phase-1 archives. The default build shares the
 * phase-1 cache of the start and lab tests (xz -6 on Node takes about a minute once, then it is cached);
 * the zstd build uses level 1 in its own folder, so it costs a second or two.
 */
const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
const SHARED_PHASE1 = join(REPO, '.cache/e2e/boottorrent/phase1');
const XZ_MAGIC = 'fd377a585a00';
const ZSTD_MAGIC = '28b52ffd';
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bt-build-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function project(name: string, extra: string[] = []): Promise<string> {
  const p = join(dir, name);
  spawnSync(process.execPath, [CLI, 'init', p, '--host-ip', '127.0.0.1', '--interface', 'lo']);
  await writeFile(
    join(p, 'config.yaml'),
    ['general: { host_ip: 127.0.0.1, default_os: hello }', 'dhcp: { enable: false, interface: lo }', ...extra]
      .concat('')
      .join('\n'),
  );
  return p;
}

/** Runs `boottorrent build` and returns the phase-1 archive names it reports (`phase-1 <file>: <size>`), in the
 * order the build finished them (cached parts first), so callers compare them as a set. */
function build(p: string, phase1Dir: string): string[] {
  const r = spawnSync(process.execPath, [CLI, 'build', p, '--phase1-dir', phase1Dir], {
    encoding: 'utf8',
    timeout: 900_000,
  });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return [...r.stdout.matchAll(/^ {2}phase-1 (\w+\.cpio\.\w+):/gm)].map((m) => m[1]!);
}

async function magic(file: string, n: number): Promise<string> {
  const fh = await open(file);
  try {
    const buf = Buffer.alloc(n);
    await fh.read(buf, 0, n, 0);
    return buf.toString('hex');
  } finally {
    await fh.close();
  }
}

describe('boottorrent build: phase-1 compression', () => {
  it('compresses phase-1 with xz when the config does not say', { timeout: 900_000 }, async () => {
    const files = build(await project('default'), SHARED_PHASE1);
    expect([...files].sort()).toEqual(['agent.cpio.xz', 'base.cpio.xz', 'modules.cpio.xz', 'node.cpio.xz']);
    for (const f of files) expect(await magic(join(SHARED_PHASE1, f), 6), f).toBe(XZ_MAGIC);
  });

  it('compresses phase-1 with zstd when phase1.compression says so', { timeout: 300_000 }, async () => {
    const phase1Dir = join(dir, 'phase1-zstd');
    const files = build(await project('zstd', ['phase1: { compression: zstd, level: 1 }']), phase1Dir);
    expect([...files].sort()).toEqual([
      'agent.cpio.zst',
      'base.cpio.zst',
      'modules.cpio.zst',
      'node.cpio.zst',
    ]);
    for (const f of files) expect(await magic(join(phase1Dir, f), 4), f).toBe(ZSTD_MAGIC);
  });
});
