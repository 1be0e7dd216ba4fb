import { createHash, randomBytes } from 'node:crypto';
import { cp, mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import parseTorrent from 'parse-torrent';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { autoPieceLength, createTorrent } from './create-torrent.js';
import { SeederError } from './errors.js';

let root: string;
let osDir: string;
const content: Record<string, Buffer> = {
  vmlinuz: randomBytes(1_500_000),
  'boot/initrd.img': randomBytes(2_000_001),
  'boot/empty': Buffer.alloc(0),
  'Zeta.cfg': Buffer.from('console=ttyS0\n'),
};

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'bt-seeder-ct-'));
  osDir = join(root, 'debian');
  for (const [rel, data] of Object.entries(content)) {
    await mkdir(join(osDir, rel, '..'), { recursive: true });
    await writeFile(join(osDir, rel), data);
  }
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('autoPieceLength', () => {
  it('cuts an image into at most 512 pieces of a power of two, within 64 KiB-4 MiB', () => {
    const MiB = 1024 * 1024;
    expect(autoPieceLength(1)).toBe(64 * 1024);
    expect(autoPieceLength(32 * MiB)).toBe(64 * 1024); // 512 pieces
    expect(autoPieceLength(32 * MiB + 1)).toBe(128 * 1024); // 257
    expect(autoPieceLength(64 * MiB)).toBe(128 * 1024);
    expect(autoPieceLength(1024 * MiB)).toBe(2 * MiB);
    expect(autoPieceLength(2048 * MiB + 1)).toBe(4 * MiB);
    expect(autoPieceLength(64 * 1024 * MiB)).toBe(4 * MiB); // the cap: 16384 pieces
    for (const size of [3e6, 7.7e7, 4.4e8, 1.9e9]) {
      const len = autoPieceLength(size);
      expect(Number.isInteger(Math.log2(len))).toBe(true);
      expect(Math.ceil(size / len)).toBeLessThanOrEqual(512);
    }
  });
});

describe('createTorrent', () => {
  it('gives the same info hash and bytes on two runs and on a copy of the folder', async () => {
    const a = await createTorrent(osDir);
    const b = await createTorrent(osDir);
    const copy = join(root, 'copy', 'debian');
    await cp(osDir, copy, { recursive: true });
    await utimes(join(copy, 'vmlinuz'), new Date(2001, 1, 1), new Date(2001, 1, 1));
    const c = await createTorrent(copy);
    expect(b.infoHash).toBe(a.infoHash);
    expect(Buffer.from(b.torrent).equals(Buffer.from(a.torrent))).toBe(true);
    expect(c.infoHash).toBe(a.infoHash);
  });

  it('writes a v1 multi-file torrent with sorted files and no date or tool string', async () => {
    const created = await createTorrent(osDir, {
      announce: ['http://10.0.0.1:6969/announce', 'udp://10.0.0.1:6969'],
      urlList: ['http://10.0.0.1:8080/webseed/'],
    });
    const raw = Buffer.from(created.torrent).toString('latin1');
    expect(raw).not.toContain('creation date');
    expect(raw).not.toContain('created by');
    expect(raw).not.toContain('meta version'); // BEP 52 v2 key: aria2 fails on hybrids
    const parsed = await parseTorrent(Buffer.from(created.torrent));
    expect(parsed.infoHash).toBe(created.infoHash);
    expect(parsed.pieceLength).toBe(64 * 1024); // 'auto' for a small folder: the 64 KiB floor
    expect(parsed.files.map((f) => f.path)).toEqual([
      'debian/Zeta.cfg',
      'debian/boot/empty',
      'debian/boot/initrd.img',
      'debian/vmlinuz',
    ]);
    expect(created.files.map((f) => f.path)).toEqual([
      'Zeta.cfg',
      'boot/empty',
      'boot/initrd.img',
      'vmlinuz',
    ]);
    expect(parsed.announce).toEqual(['http://10.0.0.1:6969/announce', 'udp://10.0.0.1:6969']);
    expect(parsed.urlList).toEqual(['http://10.0.0.1:8080/webseed/']);
    expect(created.size).toBe(3_500_015);
    expect(created.pieceCount).toBe(Math.ceil(3_500_015 / (64 * 1024)));
  });

  it('hashes pieces across file boundaries exactly as a single stream would', async () => {
    const created = await createTorrent(osDir, { pieceLength: 16384 * 4, threads: 3 });
    const order = ['Zeta.cfg', 'boot/empty', 'boot/initrd.img', 'vmlinuz'];
    const all = Buffer.concat(order.map((p) => content[p]!));
    const parsed = await parseTorrent(Buffer.from(created.torrent));
    const expected: string[] = [];
    for (let off = 0; off < all.length; off += 65536)
      expected.push(
        createHash('sha1')
          .update(all.subarray(off, off + 65536))
          .digest('hex'),
      );
    expect(parsed.pieces).toEqual(expected);
    const single = await createTorrent(osDir, { pieceLength: 65536, threads: 1 });
    expect(single.infoHash).toBe(created.infoHash);
  });

  it('takes piece hashes from the cache until a file size or mtime changes', async () => {
    const cacheFile = join(root, 'cache', 'hashes.json');
    const first = await createTorrent(osDir, { cacheFile });
    const second = await createTorrent(osDir, { cacheFile });
    expect(first.fromCache).toBe(false);
    expect(second.fromCache).toBe(true);
    expect(second.infoHash).toBe(first.infoHash);
    const later = new Date(Date.now() + 5000);
    await utimes(join(osDir, 'Zeta.cfg'), later, later);
    const third = await createTorrent(osDir, { cacheFile });
    expect(third.fromCache).toBe(false);
    expect(third.infoHash).toBe(first.infoHash);
  });

  it('reports hashing progress up to the total', async () => {
    const seen: number[] = [];
    const created = await createTorrent(osDir, {
      pieceLength: 16384,
      onProgress: (p) => seen.push(p.hashedBytes),
    });
    expect(seen.at(-1)).toBe(created.size);
    expect(seen.every((v, i) => i === 0 || v >= seen[i - 1]!)).toBe(true);
  });

  it('fails with SEEDER_BAD_FOLDER for a missing or empty folder, SEEDER_BAD_OPTION for a bad pieceLength, SEEDER_ABORTED when aborted', async () => {
    await expect(createTorrent(join(root, 'nope'))).rejects.toMatchObject({ code: 'SEEDER_BAD_FOLDER' });
    await expect(createTorrent(osDir, { pieceLength: 20000 })).rejects.toMatchObject({
      code: 'SEEDER_BAD_OPTION',
      hint: "use e.g. 262144, or 'auto'",
    });
    await mkdir(join(root, 'empty'));
    await expect(createTorrent(join(root, 'empty'))).rejects.toBeInstanceOf(SeederError);
    const reason = new Error('stop');
    await expect(createTorrent(osDir, { signal: AbortSignal.abort(reason) })).rejects.toMatchObject({
      code: 'SEEDER_ABORTED',
      cause: reason,
    });
  });
});
