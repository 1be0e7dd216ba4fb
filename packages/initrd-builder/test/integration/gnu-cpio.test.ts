import { execFile, spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCpio, writeCpio } from '../../src/index.js';
import { describeTree, treeToEntries } from './helpers.js';

const run = promisify(execFile);
let dir: string;
let src: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bt-gnucpio-'));
  src = join(dir, 'src');
  await mkdir(join(src, 'bin'), { recursive: true });
  await mkdir(join(src, 'etc/deep/er'), { recursive: true });
  await writeFile(join(src, 'init'), '#!/bin/sh\necho hi\n');
  await chmod(join(src, 'init'), 0o755);
  await writeFile(join(src, 'empty'), '');
  for (let n = 1; n <= 7; n++) await writeFile(join(src, `etc/size${n}`), 'x'.repeat(n)); // every padding case
  await writeFile(join(src, 'etc/deep/er/big.bin'), Buffer.alloc(1_000_003, 0xab));
  await writeFile(join(src, 'etc/ünïcødé'), 'utf-8 name');
  await chmod(join(src, 'etc/size3'), 0o600);
  await symlink('../init', join(src, 'bin/sh'));
  await symlink('/nonexistent/absolute', join(src, 'bin/abs'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('GNU cpio reads our archives', () => {
  it('lists and extracts them identically to the input tree', async () => {
    const archive = join(dir, 'ours.cpio');
    await pipeline(writeCpio(await treeToEntries(src)), createWriteStream(archive));
    const { stdout } = await run('sh', ['-c', `cpio -it --quiet < ${archive}`]);
    const listed = stdout.trim().split('\n');
    expect(listed).toEqual([...listed].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
    expect(new Set(listed)).toEqual(new Set(Object.keys(await describeTree(src))));
    const { stdout: verbose } = await run('sh', ['-c', `cpio -itv --quiet < ${archive}`]);
    expect(verbose, verbose).toMatch(/-rwxr-xr-x +1 root +root +18 .* init/);
    const out = join(dir, 'extracted');
    await mkdir(out);
    await run('sh', ['-c', `cd ${out} && cpio -idmu --quiet --no-absolute-filenames < ${archive}`]);
    expect(await describeTree(out)).toEqual(await describeTree(src));
  });

  it('writes archives our reader reads back with the same content', async () => {
    const archive = join(dir, 'gnu.cpio');
    await new Promise<void>((resolve, reject) => {
      const p = spawn('sh', [
        '-c',
        `cd ${src} && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet > ${archive}`,
      ]);
      p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`cpio exit ${code}`))));
    });
    const { readFile } = await import('node:fs/promises');
    const recs = readCpio(await readFile(archive));
    const big = recs.find((r) => r.path === 'etc/deep/er/big.bin')!;
    expect(big.size).toBe(1_000_003);
    expect(Buffer.from(big.data).equals(Buffer.alloc(1_000_003, 0xab))).toBe(true);
    expect(recs.find((r) => r.path === 'bin/sh')).toMatchObject({ type: 'symlink', target: '../init' });
    expect(recs.find((r) => r.path === 'init')).toMatchObject({ type: 'file', mode: 0o755 });
  });
});
