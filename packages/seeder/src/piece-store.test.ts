import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { takeBuffer } from './buffer-pool.js';
import { PieceReader, type PieceIo } from './piece-store.js';

const PIECE = 64 * 1024;

/** Three files of a torrent, cut so that pieces span file boundaries (BEP 3: one byte stream). */
const FILES = [
  { path: 'os/a.bin', length: PIECE + 1000 },
  { path: 'os/sub/b.bin', length: 500 },
  { path: 'os/c.bin', length: 2 * PIECE },
];
const TOTAL = FILES.reduce((n, f) => n + f.length, 0);
const COUNT = Math.ceil(TOTAL / PIECE);

let dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  dirs = [];
});

/** A PieceReader over FILES in a fresh folder; the inner store records what reaches it. */
async function reader(io: PieceIo, cacheBytes = 4 * PIECE) {
  const path = await mkdtemp(join(tmpdir(), 'bt-piece-store-'));
  dirs.push(path);
  let offset = 0;
  const files = FILES.map((f) => ({ ...f, offset: (offset += f.length) - f.length }));
  const innerPuts: number[] = [];
  const inner = {
    put: (index: number, _buf: Uint8Array, cb?: (err: Error | null) => void) => {
      innerPuts.push(index);
      cb?.(new Error('the inner store is not used with sync io'));
    },
    get: () => {},
    close: (cb?: () => void) => cb?.(),
    destroy: (cb?: () => void) => cb?.(),
  };
  const torrent = {
    path,
    pieceLength: PIECE,
    lastPieceLength: TOTAL - (COUNT - 1) * PIECE,
    pieces: new Array<null>(COUNT).fill(null),
    files,
  };
  return { store: new PieceReader(torrent, inner, cacheBytes, io), path, innerPuts };
}

describe('PieceReader with sync io', () => {
  it('writes pieces across file boundaries with positioned writes, and reads them back', async () => {
    const { store, path, innerPuts } = await reader('sync');
    const image = randomBytes(TOTAL);
    // pieces out of order, as a swarm delivers them
    for (const i of [2, 0, 3, 1]) {
      const buf = image.subarray(i * PIECE, Math.min(TOTAL, (i + 1) * PIECE));
      let sync = true;
      const err = await new Promise<Error | null>((r) => {
        store.put(i, Buffer.from(buf), (e) => r(e));
        sync = false;
      });
      expect(err).toBeNull();
      expect(sync).toBe(false); // the callback comes later than the call, as the async store's
    }
    expect(innerPuts).toEqual([]);
    let at = 0;
    for (const f of FILES) {
      expect(await readFile(join(path, f.path))).toEqual(image.subarray(at, at + f.length));
      at += f.length;
    }
    // a block of piece 1 (it spans a.bin, b.bin and c.bin) from the cache's one read, and again
    const block = (i: number, offset: number, length: number) =>
      new Promise<Uint8Array>((res, rej) =>
        store.get(i, { offset, length }, (e, b) => (e || !b ? rej(e) : res(b))),
      );
    const want = image.subarray(PIECE + 900, PIECE + 900 + 700);
    expect(Buffer.from(await block(1, 900, 700))).toEqual(want);
    expect(store.peek(1)?.subarray(900, 1600)).toEqual(want);
    expect(Buffer.from(await block(COUNT - 1, 0, 10))).toEqual(
      image.subarray((COUNT - 1) * PIECE).subarray(0, 10),
    );
    await new Promise<void>((r) => store.close(() => r()));
    const closed = await new Promise<Error | null>((r) => store.put(0, Buffer.alloc(PIECE), r));
    expect(closed?.message).toMatch(/closed/);
  });

  it('keeps the pieces it wrote from the pool for peers, and reads the file once they are evicted', async () => {
    const { store, path } = await reader('sync', 2 * PIECE);
    const image = randomBytes(TOTAL);
    const put = (i: number, buf: Buffer) =>
      new Promise<Error | null>((r) => store.put(i, buf.fill(image.subarray(i * PIECE, (i + 1) * PIECE)), r));
    const pooled = takeBuffer(PIECE);
    expect(await put(0, pooled)).toBeNull();
    expect(await put(1, Buffer.alloc(PIECE))).toBeNull(); // not the pool's: written, not kept
    expect(store.peek(0)).toBe(pooled); // the very buffer, no read
    expect(store.peek(1)).toBeUndefined();
    // the file loses its bytes: what is kept still answers, from memory
    await truncate(join(path, FILES[0]!.path), 0);
    expect(Buffer.from(await store.load(0))).toEqual(image.subarray(0, PIECE));
    // two more pieces of the pool fill the cache (2 pieces): piece 0 leaves it, its buffer goes back
    for (const i of [1, 2]) expect(await put(i, takeBuffer(PIECE))).toBeNull();
    expect(store.peek(1)).toBeDefined();
    expect(store.peek(0)).toBeUndefined();
    expect(takeBuffer(PIECE)).toBe(pooled);
    // now from the file, whose first piece is a hole since the truncation (piece 1 wrote past it)
    expect(Buffer.from(await store.load(0))).toEqual(Buffer.alloc(PIECE));
  });

  it('fails a read of a piece whose file is not there', async () => {
    const { store } = await reader('sync');
    await expect(store.load(0)).rejects.toThrow();
    expect(store.peek(0)).toBeUndefined();
  });
});
