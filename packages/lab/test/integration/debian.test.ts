import { access, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labRequirements, missingRequirements, unpackDeb, type Requirement } from '../../src/index.js';

/** Debian packages for the lab: what is missing, and unpacking without installing (apt-get download). */
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bt-lab-deb-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('lab requirements', () => {
  it('finds every requirement met on this host (tools/setup.sh installed them)', async () => {
    expect(await missingRequirements(labRequirements({ uefi: true }))).toEqual([]);
  });

  it('names what is missing and its package', async () => {
    const fake: Requirement = { what: 'a tool', pkg: 'no-such-pkg', present: async () => false };
    const missing = await missingRequirements([...labRequirements({ uefi: false }), fake]);
    expect(missing.map((m) => m.pkg)).toEqual(['no-such-pkg']);
  });
});

describe('unpackDeb', () => {
  it('unpacks busybox-static without installing it, once', { timeout: 180_000 }, async () => {
    const dest = join(dir, 'busybox-static');
    await unpackDeb('busybox-static', dest);
    await access(join(dest, 'bin/busybox'));
    const done = await stat(join(dest, '.done'));
    await unpackDeb('busybox-static', dest); // marked done: nothing is fetched again
    expect((await stat(join(dest, '.done'))).mtimeMs).toBe(done.mtimeMs);
    expect(await readdir(dest)).toContain('bin');
  });

  it('fails a package Debian does not have with one LAB_COMMAND error', { timeout: 180_000 }, async () => {
    const e = (await unpackDeb('no-such-package-boottorrent', join(dir, 'x')).catch((x) => x)) as {
      code: string;
      message: string;
    };
    expect(e.code).toBe('LAB_COMMAND');
    expect(e.message.split('\n')).toHaveLength(1);
  });
});
