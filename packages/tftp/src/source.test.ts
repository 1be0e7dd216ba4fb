import { mkdtempSync, openSync, closeSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import {
  BlockStore,
  ChunkPool,
  fdFiller,
  netasciiSize,
  streamFiller,
  toNetascii,
  type Filler,
} from './source.js';
import { POOLED_MIN_BYTES, READ_AHEAD_BYTES } from './constants.js';

/** A filler whose reads the test completes by hand: each call waits in `calls` until `done(i)`. */
function manualFiller(positional: boolean) {
  const calls: { position: number; views: Buffer[]; resolve: (n: number) => void; finished: boolean }[] = [];
  const fill: Filler = (views, position) =>
    new Promise<number>((resolve) => calls.push({ position, views, resolve, finished: false }));
  fill.positional = positional;
  const settle = () => new Promise((r) => setImmediate(r));
  return {
    fill,
    calls,
    settle,
    /** Fills call i's views with the byte at each file position mod 251 and completes it. */
    async done(i: number) {
      const c = calls[i]!;
      let at = c.position;
      for (const v of c.views) for (let k = 0; k < v.length; k++) v[k] = at++ % 251;
      c.finished = true;
      c.resolve(at - c.position);
      await settle();
    },
    /** Calls started and not completed. */
    inFlight: () => calls.filter((c) => !c.finished).map((c) => c.position),
    /** Has `store` read its first chunk (this filler's first call) and send block 1 from it. */
    async sendFromFirstChunk(store: BlockStore) {
      const first = store.ready(1);
      await settle();
      await this.done(0);
      await first;
      store.packet(1);
      await settle();
    },
  };
}

async function blocks(store: BlockStore): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let n = 1; n <= store.totalBlocks; n++) {
    await store.ready(n);
    out.push(Buffer.from(store.packet(n)!));
    store.release(n - 1);
  }
  return out;
}

describe('BlockStore', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bt-tftp-src-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([0, 1, 511, 512, 513, 5000])(
    'lays a %i-byte file out as DATA packets ending in a short block',
    async (size) => {
      const data = Buffer.alloc(size, 0).map((_, i) => i % 251);
      const file = join(dir, `f${size}`);
      writeFileSync(file, data);
      const fd = openSync(file, 'r');
      try {
        const store = new BlockStore(fdFiller(fd), size, 512, 4);
        const pkts = await blocks(store);
        expect(pkts.length).toBe(Math.floor(size / 512) + 1);
        expect(pkts.at(-1)!.length - 4).toBeLessThan(512);
        pkts.forEach((p, i) =>
          expect([...p.subarray(0, 4)]).toEqual([0, 3, ((i + 1) >> 8) & 255, (i + 1) & 255]),
        );
        expect(Buffer.concat(pkts.map((p) => p.subarray(4)))).toEqual(data);
      } finally {
        closeSync(fd);
      }
    },
  );

  it('recycles chunk buffers (and their views) across many chunks, byte-exact with right headers', async () => {
    // 512-byte blocks: 1024 per 512 KiB chunk; 7 whole chunks then a short one, read in recycled buffers.
    const size = 7 * 512 * 1024 + 100;
    const data = Buffer.alloc(size).map((_, i) => (i * 7 + (i >> 9)) % 253);
    const file = join(dir, 'many-chunks');
    writeFileSync(file, data);
    const fd = openSync(file, 'r');
    try {
      const store = new BlockStore(fdFiller(fd), size, 512, 16);
      const pkts = await blocks(store);
      expect(pkts.length).toBe(7 * 1024 + 1);
      pkts.forEach((p, i) => {
        if (p.readUInt16BE(2) !== ((i + 1) & 0xffff))
          throw new Error(`block ${i + 1}: header ${p.readUInt16BE(2)}`);
      });
      expect(pkts.at(-1)!.length).toBe(4 + 100);
      expect(Buffer.concat(pkts.map((p) => p.subarray(4))).equals(data)).toBe(true);
    } finally {
      closeSync(fd);
    }
  });

  it('rolls the block number over after 65535 (block 65536 is sent as 0)', async () => {
    const size = 65537 * 8;
    const store = new BlockStore(streamFiller(Readable.from([Buffer.alloc(size, 7)])), size, 8, 1);
    const seen: number[] = [];
    for (let n = 65534; n <= 65538; n++) {
      for (let m = n === 65534 ? 1 : n; m <= n; m++) await store.ready(m);
      const p = store.packet(n)!;
      seen.push(p.readUInt16BE(2));
    }
    expect(seen).toEqual([65534, 65535, 0, 1, 2]);
  });

  it("reads a file's chunks in parallel, and further ahead only while the sender waits for them", async () => {
    // blksize 512, lock-step: chunks of 1024 blocks (528384 bytes), at most 3 read ahead (2 MiB).
    const chunk = 1024 * 512;
    const size = 8 * chunk;
    const f = manualFiller(true);
    const store = new BlockStore(f.fill, size, 512, 1);
    expect(store.packet(1)).toBeUndefined(); // loads chunk 0 on demand
    const first = store.ready(1);
    expect(store.readAhead).toBe(1); // waiting for a chunk read on demand is no sign of a slow reader
    await f.settle();
    await f.done(0);
    await first;
    expect(store.packet(1)!.readUInt16BE(2)).toBe(1); // sending from chunk 0 reads chunk 1 ahead
    await f.settle();
    expect(f.inFlight()).toEqual([chunk]);
    await f.done(1);
    // A lock-step sender that finds chunk 1 read does not deepen the read-ahead.
    await store.ready(1025);
    expect(store.readAhead).toBe(1);
    expect(store.packet(1025)).toBeDefined();
    await f.settle();
    expect(f.inFlight()).toEqual([2 * chunk]);
    // The sender catches up with chunk 2 while it is read: one more ahead, both reads at once.
    const waited = store.ready(2049);
    expect(store.readAhead).toBe(2);
    await f.done(2);
    await waited;
    store.packet(2049);
    await f.settle();
    expect(f.inFlight()).toEqual([3 * chunk, 4 * chunk]);
    // Waiting again and again: never more than READ_AHEAD_BYTES ahead.
    for (const n of [3073, 3073, 3073, 3073]) void store.ready(n);
    expect(store.readAhead).toBe(Math.floor(READ_AHEAD_BYTES / (1024 * 516)));
    await f.done(4); // out of order: the later chunk first
    await f.done(3);
    store.packet(3073);
    await f.settle();
    expect(f.inFlight()).toEqual([5 * chunk, 6 * chunk]);
    for (const i of [5, 6]) await f.done(i);
    const pkts: Buffer[] = [];
    for (let n = 1; n <= 7 * 1024; n++) pkts.push(store.packet(n)!);
    const expected = Buffer.alloc(7 * chunk).map((_, i) => i % 251);
    expect(Buffer.concat(pkts.map((p) => p.subarray(4))).equals(expected)).toBe(true);
  });

  it("reads a stream's chunks one after another, one ahead, however long the sender waits", async () => {
    const size = 4 * 1024 * 512;
    const f = manualFiller(false);
    const store = new BlockStore(f.fill, size, 512, 1);
    await f.sendFromFirstChunk(store);
    for (let i = 0; i < 5; i++) void store.ready(1025);
    expect(store.readAhead).toBe(1);
    await f.done(1);
    store.packet(1025);
    await f.settle();
    expect(f.inFlight()).toEqual([2 * 1024 * 512]);
  });

  it('fails the read when a stream ends before its announced size', async () => {
    const store = new BlockStore(streamFiller(Readable.from([Buffer.alloc(100)])), 1000, 512, 1);
    await expect(store.ready(1)).rejects.toMatchObject({ code: 'TFTP_SOURCE' });
  });

  it('reads a stream that arrives in odd pieces in order', async () => {
    const data = Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 256));
    const pieces = [data.subarray(0, 7), data.subarray(7, 1500), data.subarray(1500)];
    const store = new BlockStore(streamFiller(Readable.from(pieces)), data.length, 512, 2);
    const pkts = await blocks(store);
    expect(Buffer.concat(pkts.map((p) => p.subarray(4)))).toEqual(data);
  });
});

describe('ChunkPool', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bt-tftp-pool-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const settle = () => new Promise((r) => setImmediate(r));

  it("gives a disposed store's buffers to the next store of that shape, which sends its own bytes", async () => {
    // 3 chunks of 512 KiB (1024 blocks of 512): the second file must not show any byte of the first.
    const size = 3 * 512 * 1024 - 10;
    const first = Buffer.alloc(size, 0xaa);
    const second = Buffer.alloc(size).map((_, i) => (i * 13 + (i >> 9)) % 251);
    writeFileSync(join(dir, 'first'), first);
    writeFileSync(join(dir, 'second'), second);
    const pool = new ChunkPool(8 << 20);
    const fdA = openSync(join(dir, 'first'), 'r');
    const fdB = openSync(join(dir, 'second'), 'r');
    try {
      const a = new BlockStore(fdFiller(fdA), size, 512, 16, pool);
      await a.ready(1);
      const used = a.packet(1)!.buffer;
      expect(Buffer.concat((await blocks(a)).map((p) => p.subarray(4))).equals(first)).toBe(true);
      a.dispose();
      a.dispose(); // idempotent
      await settle();
      expect(pool.bytes).toBeGreaterThan(0);
      expect(a.packet(1)).toBeUndefined();
      await expect(a.ready(1)).rejects.toMatchObject({ code: 'TFTP_SOURCE' });

      const b = new BlockStore(fdFiller(fdB), size, 512, 16, pool);
      const seen = new Set<ArrayBufferLike>();
      const pkts: Buffer[] = [];
      for (let n = 1; n <= b.totalBlocks; n++) {
        await b.ready(n);
        seen.add(b.packet(n)!.buffer);
        pkts.push(Buffer.from(b.packet(n)!));
        b.release(n - 1);
      }
      expect(seen.has(used)).toBe(true); // a buffer of the first store, reused
      pkts.forEach((p, i) => expect(p.readUInt16BE(2)).toBe((i + 1) & 0xffff));
      expect(Buffer.concat(pkts.map((p) => p.subarray(4))).equals(second)).toBe(true);
    } finally {
      closeSync(fdA);
      closeSync(fdB);
    }
  });

  it('takes a buffer back only when the read writing into it has finished', async () => {
    let finish: (n: number) => void = () => undefined;
    let target: Buffer[] = [];
    const slow: Filler = (views) => {
      target = views;
      return new Promise<number>((resolve) => (finish = resolve));
    };
    const pool = new ChunkPool(8 << 20);
    const size = 200 * 1024; // one chunk of 401 blocks, 206916 bytes
    const store = new BlockStore(slow, size, 512, 1, pool);
    const ready = store.ready(1);
    await settle();
    store.dispose();
    await settle();
    expect(pool.bytes).toBe(0); // the read is still writing into the chunk
    for (const v of target) v.fill(1);
    finish(size);
    await ready;
    await settle();
    expect(pool.bytes).toBe(401 * (512 + 4));
  });

  it('takes buffers back only when every read in flight at once has finished', async () => {
    const f = manualFiller(true);
    const pool = new ChunkPool(8 << 20);
    const chunkBytes = 1024 * 516;
    const store = new BlockStore(f.fill, 4 * 1024 * 512, 512, 1, pool);
    await f.sendFromFirstChunk(store);
    void store.ready(1025); // the sender waits: two chunks ahead
    await f.done(1);
    store.packet(1025);
    await f.settle();
    expect(f.inFlight()).toHaveLength(2);
    store.dispose();
    await f.done(3);
    expect(pool.bytes).toBe(0); // chunk 2's read is still writing
    await f.done(2);
    expect(pool.bytes).toBe(4 * chunkBytes);
  });

  it('holds at most maxBytes, dropping the oldest, no small buffers, and nothing once closed', () => {
    const K = POOLED_MIN_BYTES;
    const pool = new ChunkPool(2.5 * K);
    const [a, b, c] = [Buffer.alloc(K), Buffer.alloc(K), Buffer.alloc(K)];
    pool.give(a);
    pool.give(b);
    pool.give(c); // over 2.5 K: `a` is dropped
    expect(pool.bytes).toBe(2 * K);
    expect(pool.take(K)).toBe(c);
    expect(pool.take(K)).toBe(b);
    expect(pool.take(K)).not.toBe(a); // a new one
    pool.give(Buffer.alloc(3 * K)); // larger than the pool: not kept
    const small = Buffer.alloc(K - 1);
    pool.give(small); // glibc serves these from its heap: not kept
    expect(pool.bytes).toBe(0);
    expect(pool.take(K - 1)).not.toBe(small);
    pool.give(a);
    pool.close();
    expect(pool.bytes).toBe(0);
    pool.give(b);
    expect(pool.bytes).toBe(0);
    expect(pool.take(K)).not.toBe(b);
  });
});

describe('netascii', () => {
  it('turns LF into CR LF and a bare CR into CR NUL (RFC 1350 / RFC 764)', async () => {
    expect(toNetascii(Buffer.from('a\nb\rc'))).toEqual(Buffer.from('a\r\nb\r\0c', 'latin1'));
    expect(await netasciiSize(Readable.from([Buffer.from('a\nb\rc')]))).toBe(7);
  });
});
