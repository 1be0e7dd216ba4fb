import { closeSync, constants, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Torrent } from 'webtorrent';
import { isLeased, lendView, releaseBuffer, takeBuffer } from './buffer-pool.js';

/** BitTorrent's request unit (BEP 3 practice; torrent-piece's BLOCK_LENGTH). */
const BLOCK_LENGTH = 16 * 1024;

/**
 * Bytes of whole pieces a downloader's reader keeps for answering block requests: a peer asks for a
 * piece in 16 KiB blocks, so one positioned read per piece serves them all, and requests come in piece
 * order. 8 MiB is 4 pieces of 2 MiB (the `'auto'` length of a 512 MiB image), within the downloader's
 * RSS goal (150 MiB, ~70 of them Node and the libraries).
 * @default 8 MiB
 */
export const PIECE_CACHE_BYTES = 8 * 1024 * 1024;

/** The same for the server's seeder, which serves a whole room and has the memory. @default 32 MiB */
export const SEEDER_PIECE_CACHE_BYTES = 32 * 1024 * 1024;

/**
 * How {@link PieceReader} reads and writes pieces: `'sync'` = one synchronous positioned read or write
 * per file a piece spans, on the main thread (for folders in RAM: the agent's tmpfs, ~0.2 ms per MiB);
 * `'async'` = on libuv's threads, writes through fs-chunk-store (for disks, where an access may block:
 * the server's seeder).
 *
 * Why `'sync'` for tmpfs: on libuv's 4 threads the writes of one file wait for each other on its inode
 * lock, and a downloader receiving faster than that kept 30-80 pieces (15-40 MiB) waiting for their
 * write at once, each holding its buffer: the pool ran dry, every third piece was a fresh allocation
 * (page faults on first touch), and waking the threads cost more. `pair.mjs`, 256 MiB on loopback:
 * downloader 0.78-1.04 CPU-s and peak RSS 115-140 MiB with `'async'`, 0.58-0.61 and 85-88 MiB with
 * `'sync'` (tools/bench/swarm/NOTES.md, session 11).
 */
export type PieceIo = 'sync' | 'async';

/** The parts of a torrent-piece `Piece` that {@link fastPieces} replaces (field names are that library's). */
interface PieceInternals {
  length: number;
  missing: number;
  sources: unknown[] | null;
  _chunks: number;
  _buffered: number;
  _buffer: unknown[] | null;
  _cancellations: number[] | null;
  _flushed: boolean;
  /** ours: the piece's bytes, written block by block */
  _data?: Buffer | undefined;
  init(): boolean;
}

const patched = new WeakSet<object>();

/**
 * Where a block range of `piece` lives in its buffer (taken from the pool now if the piece has none
 * yet), for an answer that can be gathered there directly (fast-wire.ts, span-request.ts); undefined
 * if the piece's class was not patched by {@link fastPieces}. `set()` then finds the bytes in place
 * and copies nothing. Only for blocks reserved for one request: nothing else writes there.
 */
export function pieceTarget(piece: object, offset: number, length: number): Buffer | undefined {
  if (!patched.has(Object.getPrototypeOf(piece) as object)) return undefined;
  const p = piece as PieceInternals;
  if (!p.init() || offset + length > p.length) return undefined;
  p._data ??= takeBuffer(p.length);
  return p._data.subarray(offset, offset + length);
}

/**
 * Makes torrent-piece assemble a piece in one buffer as its blocks arrive, instead of keeping every
 * block (a view of a socket read, which holds that whole read in memory) and joining them in
 * `flush()`: one copy per block instead of two, and the socket's buffers are free at once.
 * Patches the class of the torrent's pieces once per process (every torrent shares it).
 */
export function fastPieces(torrent: Torrent): void {
  const pieces = (torrent as unknown as { pieces: (object | null)[] }).pieces;
  const some = pieces.find((p) => p !== null);
  if (!some) return;
  const proto = Object.getPrototypeOf(some) as {
    set(this: PieceInternals, i: number, data: Uint8Array, source: unknown): boolean;
    flush(this: PieceInternals): Buffer | null;
  };
  if (patched.has(proto)) return;
  patched.add(proto);
  proto.set = function set(i, data, source) {
    if (!this.init()) return false;
    const buffer = this._buffer!;
    this._data ??= takeBuffer(this.length);
    const blocks = Math.ceil(data.length / BLOCK_LENGTH);
    for (let j = 0; j < blocks; j++) {
      if (buffer[i + j]) continue;
      const start = j * BLOCK_LENGTH;
      const end = Math.min(data.length, start + BLOCK_LENGTH);
      // gathered in place already (pieceTarget): nothing to copy
      if (
        data.buffer !== this._data.buffer ||
        data.byteOffset + start !== this._data.byteOffset + (i + j) * BLOCK_LENGTH
      )
        this._data.set(data.subarray(start, end), (i + j) * BLOCK_LENGTH);
      buffer[i + j] = true;
      this._buffered++;
      this.missing -= end - start;
      if (!this.sources!.includes(source)) this.sources!.push(source);
    }
    return this._buffered === this._chunks;
  };
  proto.flush = function flush() {
    if (!this._buffer || this._chunks !== this._buffered || !this._data) return null;
    const data = this._data;
    this._data = undefined;
    this._buffer = null;
    this._cancellations = null;
    this.sources = null;
    this._flushed = true;
    return data;
  };
}

type GetCallback = (err: Error | null, buf?: Uint8Array) => void;
interface ChunkStore {
  get(index: number, opts: { offset?: number; length?: number } | null | GetCallback, cb?: GetCallback): void;
  put(index: number, buf: Uint8Array, cb?: (err: Error | null) => void): void;
  close(cb?: (err?: Error | null) => void): void;
  destroy(cb?: (err?: Error | null) => void): void;
}

/**
 * Answers webtorrent's reads of verified pieces (peers' block requests, and the start-up check) with
 * one positioned read per piece straight into the buffer it returns, and keeps the last pieces read
 * (up to {@link PIECE_CACHE_BYTES}) to cut their blocks from. Replaces, below webtorrent's
 * ImmediateChunkStore (which still answers for pieces not yet written), its CacheChunkStore and
 * fs-chunk-store reads: those read each file's part of a piece into a buffer of its own and then join
 * them (two allocations and a copy per piece), and hand each block out as a copy-free view.
 * Writes still go to fs-chunk-store.
 */
export class PieceReader implements ChunkStore {
  readonly chunkLength: number;
  private readonly files: { path: string; offset: number; length: number }[];
  private readonly handles = new Map<string, Promise<FileHandle>>();
  private readonly cache = new Map<number, Promise<Buffer>>();
  /** the pieces of {@link cache} whose read has finished, for {@link peek} */
  private readonly ready = new Map<number, Buffer>();
  /** descriptors of the files, for `'sync'` reads and writes */
  private readonly fds = new Map<string, number>();
  /** the buffer the last `'sync'` pooled read filled, for {@link cachedRead} to mark ready at once */
  private lastRead: Buffer | undefined;
  private cached = 0;
  private closed = false;

  constructor(
    private readonly torrent: {
      path: string;
      pieceLength: number;
      lastPieceLength: number;
      pieces: unknown[];
      files: { path: string; offset: number; length: number }[];
    },
    private readonly inner: ChunkStore,
    private readonly maxBytes = PIECE_CACHE_BYTES,
    private readonly io: PieceIo = 'async',
  ) {
    this.chunkLength = torrent.pieceLength;
    this.files = torrent.files.map((f) => ({
      path: resolve(join(torrent.path, f.path)),
      offset: f.offset,
      length: f.length,
    }));
  }

  /** Bytes in piece `index`. */
  pieceLength(index: number): number {
    return index === this.torrent.pieces.length - 1 ? this.torrent.lastPieceLength : this.torrent.pieceLength;
  }

  private handle(path: string): Promise<FileHandle> {
    let h = this.handles.get(path);
    if (!h) {
      h = open(path, 'r');
      this.handles.set(path, h);
      h.catch(() => this.handles.delete(path));
    }
    return h;
  }

  /** The whole piece, read from every file it spans. */
  private async read(index: number, pooled: boolean): Promise<Buffer> {
    const length = this.pieceLength(index);
    const start = index * this.torrent.pieceLength;
    const buf = pooled ? takeBuffer(length) : Buffer.allocUnsafe(length);
    if (this.io === 'sync') {
      this.transfer(index, buf, 'read');
      if (pooled) this.lastRead = buf;
      return buf;
    }
    const reads: Promise<unknown>[] = [];
    for (const f of this.files) {
      const from = Math.max(start, f.offset);
      const to = Math.min(start + length, f.offset + f.length);
      if (from >= to) continue;
      reads.push(
        this.handle(f.path).then(async (h) => {
          let done = 0;
          while (done < to - from) {
            const { bytesRead } = await h.read(
              buf,
              from - start + done,
              to - from - done,
              from - f.offset + done,
            );
            if (bytesRead === 0) throw new Error(`${f.path}: ends before byte ${from - f.offset + done}`);
            done += bytesRead;
          }
        }),
      );
    }
    await Promise.all(reads);
    return buf;
  }

  private cachedRead(index: number): Promise<Buffer> {
    let p = this.cache.get(index);
    if (p) {
      this.cache.delete(index); // most recently used last
      this.cache.set(index, p);
      return p;
    }
    p = this.read(index, true);
    this.cache.set(index, p);
    this.cached += this.pieceLength(index);
    const read = p;
    if (this.io === 'sync') {
      // read already (or failed): ready for peek() in this tick
      const buf = this.lastRead;
      this.lastRead = undefined;
      if (buf) this.ready.set(index, buf);
    }
    p.then(
      (buf) => {
        if (this.cache.get(index) === read) this.ready.set(index, buf);
      },
      () => this.drop(index),
    );
    this.evictFor(index);
    return p;
  }

  /** Drops the least recently used pieces until the cache fits its bytes again, never `index`. */
  private evictFor(index: number): void {
    for (const old of this.cache.keys()) {
      if (this.cached <= this.maxBytes || old === index) break;
      this.drop(old);
    }
  }

  private drop(index: number): void {
    const p = this.cache.get(index);
    if (!p) return;
    this.cache.delete(index);
    this.ready.delete(index);
    this.cached -= this.pieceLength(index);
    p.then(releaseBuffer, () => {});
  }

  /**
   * The piece if the cache holds it read, else undefined (then nothing is started): the serve path
   * (serve.ts) answers a request from it in the same tick, with no callback or promise. Counts as a
   * use of the piece for the cache's order, as {@link get} does.
   */
  peek(index: number): Buffer | undefined {
    const buf = this.ready.get(index);
    if (!buf) return undefined;
    const p = this.cache.get(index)!;
    this.cache.delete(index); // most recently used last
    this.cache.set(index, p);
    return buf;
  }

  /**
   * The whole piece, from the cache or read into it (one read however many callers wait): the serve
   * path's way to wait for a piece {@link peek} did not have.
   */
  load(index: number): Promise<Buffer> {
    if (this.closed) return Promise.reject(new Error('store closed'));
    return this.cachedRead(index);
  }

  get(
    index: number,
    opts: { offset?: number; length?: number } | null | GetCallback,
    cb: GetCallback = () => {},
  ): void {
    if (typeof opts === 'function') return this.get(index, null, opts);
    if (this.closed) return queueMicrotask(() => cb(new Error('store closed')));
    const length = this.pieceLength(index);
    const offset = opts?.offset ?? 0;
    const len = opts?.length ?? length - offset;
    // a whole piece (the start-up check, a file stream) is read once and not kept
    if (offset === 0 && len === length) {
      this.read(index, false).then(
        (buf) => cb(null, buf),
        (err: Error) => cb(err),
      );
      return;
    }
    this.cachedRead(index).then(
      (buf) => cb(null, lendView(buf, offset, offset + len)),
      (err: Error) => cb(err),
    );
  }

  /**
   * Written with one positioned write per file (`'sync'`), or through fs-chunk-store (`'async'`).
   * webtorrent answers requests for a piece only after this callback. A piece buffer from the pool
   * then stays in the cache (`'sync'`: see {@link keep}), or goes back to the pool (`'async'`). The
   * callback always comes later than the call.
   */
  put(index: number, buf: Uint8Array, cb?: (err: Error | null) => void): void {
    this.drop(index);
    if (this.io === 'async')
      return this.inner.put(index, buf, (err) => {
        cb?.(err);
        if (Buffer.isBuffer(buf)) releaseBuffer(buf);
      });
    let err: Error | null = null;
    try {
      if (this.closed) throw new Error('store closed');
      this.transfer(index, buf, 'write');
    } catch (e) {
      err = e as Error;
    }
    // the piece just written is the one peers ask for next (its HAVE goes out now): keep its buffer
    const kept = !err && this.keep(index, buf);
    queueMicrotask(() => {
      cb?.(err);
      if (!kept && Buffer.isBuffer(buf)) releaseBuffer(buf);
    });
  }

  /**
   * Puts a piece written in `'sync'` mode into the cache as read, so that peers' requests for it (they
   * come right after its HAVE) are cut from memory instead of read back from the file. False if the
   * cache does not take it (it is not a whole piece of the pool's, or the cache is off).
   */
  private keep(index: number, buf: Uint8Array): boolean {
    const length = this.pieceLength(index);
    if (!Buffer.isBuffer(buf) || buf.length !== length || length > this.maxBytes || !isLeased(buf))
      return false;
    this.cache.set(index, Promise.resolve(buf));
    this.ready.set(index, buf);
    this.cached += length;
    this.evictFor(index);
    return true;
  }

  /** The piece's bytes from (`'read'`) or into (`'write'`) every file it spans, on this thread. */
  private transfer(index: number, buf: Uint8Array, op: 'read' | 'write'): void {
    const start = index * this.torrent.pieceLength;
    for (const f of this.files) {
      const from = Math.max(start, f.offset);
      const to = Math.min(start + buf.length, f.offset + f.length);
      if (from >= to) continue;
      let fd = this.fds.get(f.path);
      if (fd === undefined) {
        if (op === 'write') mkdirSync(dirname(f.path), { recursive: true });
        fd = openSync(f.path, constants.O_RDWR | (op === 'write' ? constants.O_CREAT : 0), 0o666);
        this.fds.set(f.path, fd);
      }
      for (let done = 0; done < to - from;) {
        const at = from - start + done;
        const pos = from - f.offset + done;
        const n =
          op === 'read'
            ? readSync(fd, buf, at, to - from - done, pos)
            : writeSync(fd, buf, at, to - from - done, pos);
        if (n === 0) throw new Error(`${f.path}: ends before byte ${pos}`);
        done += n;
      }
    }
  }

  private async closeHandles(): Promise<void> {
    this.closed = true;
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
    for (const index of [...this.cache.keys()]) this.drop(index);
    const handles = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(handles.map((h) => h.then((fh) => fh.close()).catch(() => {})));
  }

  close(cb: (err?: Error | null) => void = () => {}): void {
    void this.closeHandles().then(() => this.inner.close(cb));
  }

  destroy(cb: (err?: Error | null) => void = () => {}): void {
    void this.closeHandles().then(() => this.inner.destroy(cb));
  }
}

/**
 * Puts a {@link PieceReader} under the torrent's ImmediateChunkStore (call on 'metadata', when the
 * store exists and nothing has been read yet). A store webtorrent did not build on files (a memory
 * store) is left alone.
 */
export function readPiecesDirectly(
  torrent: Torrent,
  cacheBytes = PIECE_CACHE_BYTES,
  io: PieceIo = 'async',
): void {
  const t = torrent as unknown as {
    store?: { store?: ChunkStore };
    path?: string;
    pieceLength: number;
    lastPieceLength: number;
    pieces: unknown[];
    files: { path: string; offset: number; length: number }[];
  };
  const immediate = t.store;
  if (!immediate?.store || typeof t.path !== 'string') return;
  const name = (immediate.store as { constructor: { name: string } }).constructor.name;
  if (name === 'MemoryChunkStore') return;
  immediate.store = new PieceReader(t as typeof t & { path: string }, immediate.store, cacheBytes, io);
}
