import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { readCpio } from './cpio-read.js';
import { writeCpio, type CpioEntry } from './cpio.js';
import { InitrdErrorCode } from './errors.js';

const archive = async (entries: CpioEntry[], mtime?: number) =>
  buffer(writeCpio(entries, mtime === undefined ? {} : { mtime }));

describe('writeCpio', () => {
  it('writes the newc header, name and data with 4-byte padding, then the trailer', async () => {
    const out = await archive([{ path: '/a', type: 'file', source: Buffer.from('hi!'), mode: 0o600 }]);
    // magic  ino      mode     uid      gid      nlink    mtime    filesize devmajor devminor rdevmaj  rdevmin  namesize check
    const head =
      '070701' +
      '00000001' +
      '00008180' +
      '00000000' +
      '00000000' +
      '00000001' +
      '00000000' +
      '00000003' +
      '00000000' +
      '00000000' +
      '00000000' +
      '00000000' +
      '00000002' +
      '00000000';
    expect(out.subarray(0, 110).toString('ascii')).toBe(head);
    // 110 + "a\0" = 112 (already aligned); data "hi!" + 1 pad byte
    expect(out.subarray(110, 112).toString('latin1')).toBe('a\0');
    expect(out.subarray(112, 116).toString('latin1')).toBe('hi!\0');
    expect(out.subarray(116 + 6, 116 + 14).toString('ascii')).toBe('00000000'); // trailer ino
    expect(out.subarray(116 + 110, 116 + 120).toString('latin1')).toBe('TRAILER!!!');
    expect(out.length % 4).toBe(0);
  });

  it('sorts entries byte-wise so the same tree in any order gives identical bytes', async () => {
    const entries: CpioEntry[] = [
      { path: 'bin/sh', type: 'symlink', target: 'busybox' },
      { path: 'bin', type: 'dir' },
      { path: 'Z', type: 'file', source: Buffer.from('z') },
      { path: 'bin/busybox', type: 'file', source: Buffer.from('elf'), mode: 0o755 },
    ];
    const a = await archive(entries);
    const b = await archive([...entries].reverse());
    expect(a.equals(b)).toBe(true);
    expect(readCpio(a).map((r) => r.path)).toEqual(['Z', 'bin', 'bin/busybox', 'bin/sh']);
  });

  it('round-trips files, directories, symlinks and character devices with modes, uid/gid 0 and the mtime', async () => {
    const recs = readCpio(
      await archive(
        [
          { path: 'dev', type: 'dir' },
          { path: 'dev/console', type: 'chardev', major: 5, minor: 1 },
          { path: 'init', type: 'file', mode: 0o755, source: new Uint8Array([1, 2, 3, 4, 5]) },
          { path: 'sh', type: 'symlink', target: 'bin/busybox' },
        ],
        1234,
      ),
    );
    expect(recs.map(({ data: _d, ...r }) => r)).toEqual([
      { path: 'dev', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 1234, size: 0, major: 0, minor: 0 },
      {
        path: 'dev/console',
        type: 'chardev',
        mode: 0o600,
        uid: 0,
        gid: 0,
        mtime: 1234,
        size: 0,
        major: 5,
        minor: 1,
      },
      { path: 'init', type: 'file', mode: 0o755, uid: 0, gid: 0, mtime: 1234, size: 5, major: 0, minor: 0 },
      {
        path: 'sh',
        type: 'symlink',
        mode: 0o777,
        uid: 0,
        gid: 0,
        mtime: 1234,
        size: 11,
        target: 'bin/busybox',
        major: 0,
        minor: 0,
      },
    ]);
    expect([...recs[2]!.data]).toEqual([1, 2, 3, 4, 5]);
  });

  it('streams host files and accepts async iterables', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bt-cpio-'));
    try {
      const big = Buffer.alloc(300_001, 7);
      await writeFile(join(dir, 'big'), big);
      async function* gen(): AsyncGenerator<CpioEntry> {
        yield { path: 'big', type: 'file', source: join(dir, 'big') };
      }
      const [rec] = readCpio(await archive(gen() as unknown as CpioEntry[]));
      expect(Buffer.from(rec!.data).equals(big)).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('fails when a host file does not have the size it was announced with', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bt-cpio-'));
    try {
      await writeFile(join(dir, 'f'), 'abcdef');
      await expect(
        archive([{ path: 'f', type: 'file', source: join(dir, 'f'), size: 3 }]),
      ).rejects.toMatchObject({
        code: InitrdErrorCode.BadEntry,
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects "..", duplicate paths and files without content', async () => {
    await expect(archive([{ path: '../etc', type: 'dir' }])).rejects.toMatchObject({
      code: 'INITRD_BAD_ENTRY',
    });
    await expect(
      archive([
        { path: 'a', type: 'dir' },
        { path: '/a/', type: 'dir' },
      ]),
    ).rejects.toThrow(/twice/);
    await expect(archive([{ path: 'f', type: 'file' }])).rejects.toThrow(/without a source/);
  });
});
