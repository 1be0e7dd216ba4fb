/**
 * Where DATA packets come from. The file (or virtual stream) is read in chunks of many blocks laid out
 * as ready-made packets — `| 0 3 | block | data |` back to back — so sending a block is one `send()` of
 * a preallocated view: no copy and no allocation per packet, and retransmission resends the same
 * bytes. Files are read with one `readv` per chunk (one iovec per block); streams are copied in. A
 * chunk is recycled once every block in it is acknowledged.
 *
 * Read-ahead. Sending from chunk c starts the read of c+1. A stream's chunks are read strictly one after
 * another (it only goes forward); a file's are read at any position, several at once on libuv's
 * threads. Whenever the sender has to wait for a chunk that was already being read ahead, the reader
 * is the slower side, and a file's store reads one chunk further ahead, up to {@link READ_AHEAD_BYTES}
 * (measured at blksize 65464, 16 blocks a window: with one chunk ahead the sender waited for 48 of the
 * 50 chunks of a 50 MiB file, a 1 MiB read taking ~230 µs from request to callback; see README).
 * Lock-step transfers never wait after their first chunk and keep one chunk ahead.
 */
import { readv } from 'node:fs';
import type { Readable } from 'node:stream';
import { Opcode, POOLED_MIN_BYTES, READ_AHEAD_BYTES, READ_CHUNK_BYTES } from './constants.js';
import { TftpError, TftpErrorCode } from './errors.js';

/** Fills `views` (in order) with the bytes at `position`; resolves the byte count (short only at EOF). */
export type Filler = ((views: Buffer[], position: number) => Promise<number>) & {
  /** Reads at any position, in any order, several at once (a file); else strictly forward (a stream). */
  positional?: boolean;
};

interface Chunk {
  index: number;
  buf: Buffer;
  /** One view per block, header included; undefined until loaded. */
  packets: Buffer[] | undefined;
  loading: Promise<void>;
  /** Loaded ahead of need, not on demand: a sender that waits for it has caught up with the reader. */
  readAhead: boolean;
}

/** Largest number of iovecs in one readv (IOV_MAX on Linux). */
const IOV_MAX = 1024;

/**
 * Chunk buffers kept from ended transfers for the next ones. Without it every transfer's chunks are new
 * allocations: glibc maps chunks this large fresh from the kernel and unmaps them when freed, so each
 * transfer faults in and zeroes every page again (measured in a fresh server at blksize 65464: ~820
 * page faults per 50 MiB transfer, ~0 with the pool, and 7–17 % less CPU). Holds at most
 * `maxBytes`; past it the oldest buffer is left to the garbage collector. Buffers under
 * {@link POOLED_MIN_BYTES} are not kept: glibc serves those from its heap without new pages. What a
 * buffer held before is never sent: a packet is only ever a view of bytes read for it (a short read
 * fails the transfer).
 */
export class ChunkPool {
  private readonly idle: Buffer[] = [];
  private held = 0;
  private closed = false;

  constructor(readonly maxBytes: number) {}

  /** Bytes of the idle buffers held now. */
  get bytes(): number {
    return this.held;
  }

  /** A buffer of exactly `size` bytes: the most recently given one of that size, else a new one. */
  take(size: number): Buffer {
    if (size < POOLED_MIN_BYTES) return Buffer.allocUnsafeSlow(size);
    for (let i = this.idle.length - 1; i >= 0; i--) {
      const buf = this.idle[i]!;
      if (buf.length === size) {
        this.idle.splice(i, 1);
        this.held -= size;
        return buf;
      }
    }
    return Buffer.allocUnsafeSlow(size);
  }

  /** Keeps `buf` for a later {@link take}; nothing may write into or send from it any more. */
  give(buf: Buffer): void {
    if (this.closed || buf.length < POOLED_MIN_BYTES || buf.length > this.maxBytes) return;
    this.idle.push(buf);
    this.held += buf.length;
    while (this.held > this.maxBytes) this.held -= this.idle.shift()!.length;
  }

  /** Drops every idle buffer and keeps none given later (the server is closed). */
  close(): void {
    this.closed = true;
    this.idle.length = 0;
    this.held = 0;
  }
}

export class BlockStore {
  readonly totalBlocks: number;
  private readonly blocksPerChunk: number;
  private readonly stride: number;
  private readonly chunks = new Map<number, Chunk>();
  private readonly free: Buffer[] = [];
  private chain: Promise<unknown> = Promise.resolve();
  private failure: TftpError | undefined;
  private releasedUpTo = 0;
  private disposed = false;
  /** Chunks read ahead of the one being sent from; grows while the sender catches up with the reader. */
  private ahead = 1;
  private readonly maxAhead: number;

  constructor(
    private readonly fill: Filler,
    readonly size: number,
    readonly blksize: number,
    windowsize: number,
    /** Where chunk buffers come from and go back to when the store is disposed. */
    private readonly pool?: ChunkPool,
  ) {
    this.totalBlocks = Math.floor(size / blksize) + 1;
    // At least one window, so a window never spans more than two chunks.
    const perChunk = Math.max(windowsize, Math.ceil(READ_CHUNK_BYTES / blksize));
    this.blocksPerChunk = Math.max(1, Math.min(perChunk, this.totalBlocks));
    this.stride = blksize + 4;
    const chunkBytes = this.blocksPerChunk * this.stride;
    this.maxAhead = fill.positional ? Math.max(1, Math.floor(READ_AHEAD_BYTES / chunkBytes)) : 1;
  }

  /** Chunks the store reads ahead now (for tests). */
  get readAhead(): number {
    return this.ahead;
  }

  /** The packet for absolute block `n` (1-based) if its chunk is loaded; starts loading it otherwise. */
  packet(n: number): Buffer | undefined {
    if (this.disposed) return undefined;
    const c = Math.floor((n - 1) / this.blocksPerChunk);
    const chunk = this.chunks.get(c) ?? this.load(c);
    if (chunk.packets === undefined) return undefined;
    const last = Math.min(c + this.ahead, this.lastChunk);
    for (let a = c + 1; a <= last; a++) if (!this.chunks.has(a)) this.load(a, true); // read ahead
    return chunk.packets[(n - 1) % this.blocksPerChunk];
  }

  /** Resolves when block `n` can be had from {@link packet}; rejects with the read error. */
  ready(n: number): Promise<void> {
    if (this.disposed) return Promise.reject(new TftpError(TftpErrorCode.Source, 'the transfer has ended'));
    if (this.failure) return Promise.reject(this.failure);
    const c = Math.floor((n - 1) / this.blocksPerChunk);
    const chunk = this.chunks.get(c);
    if (chunk === undefined) return this.load(c).loading;
    // The sender caught up with a chunk read ahead: read further ahead (a file's reads run in parallel).
    if (chunk.readAhead && chunk.packets === undefined && this.ahead < this.maxAhead) this.ahead++;
    return chunk.loading;
  }

  /** Frees every chunk whose blocks are all ≤ `acked`. */
  release(acked: number): void {
    if (acked < this.releasedUpTo + this.blocksPerChunk) return; // nothing new to free
    this.releasedUpTo = acked - (acked % this.blocksPerChunk);
    for (const [c, chunk] of this.chunks) {
      if ((c + 1) * this.blocksPerChunk <= acked && chunk.packets !== undefined) {
        this.chunks.delete(c);
        this.free.push(chunk.buf);
      }
    }
  }

  /** Resolves when no read of this store is in flight (none started, or all of them settled). */
  async settled(): Promise<void> {
    let chain: Promise<unknown>;
    do {
      chain = this.chain;
      await chain;
    } while (chain !== this.chain);
  }

  /**
   * Ends the store: every chunk buffer goes to the pool once no read is writing into it any more. Call
   * it when nothing will send a packet of this store again (the transfer socket is closed). Idempotent.
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const pool = this.pool;
    if (!pool) return;
    // No read starts after this, so once the started ones settle none is writing into a buffer.
    void this.settled().then(() => {
      for (const buf of this.free) pool.give(buf);
      for (const chunk of this.chunks.values()) pool.give(chunk.buf);
      this.free.length = 0;
      this.chunks.clear();
    });
  }

  private get lastChunk(): number {
    return Math.floor((this.totalBlocks - 1) / this.blocksPerChunk);
  }

  private load(c: number, readAhead = false): Chunk {
    const first = c * this.blocksPerChunk + 1;
    const count = Math.min(this.blocksPerChunk, this.totalBlocks - first + 1);
    const bytesWanted = Math.max(0, Math.min(count * this.blksize, this.size - (first - 1) * this.blksize));
    const bytes = this.blocksPerChunk * this.stride;
    const buf = this.free.pop() ?? this.pool?.take(bytes) ?? Buffer.allocUnsafeSlow(bytes);
    const chunk: Chunk = { index: c, buf, packets: undefined, loading: Promise.resolve(), readAhead };
    const views: Buffer[] = [];
    for (let i = 0; i < count; i++) {
      const at = i * this.stride + 4;
      const len = Math.min(this.blksize, bytesWanted - i * this.blksize);
      if (len > 0) views.push(buf.subarray(at, at + len));
    }
    // A stream can only be read forward: its chunks are read strictly in order. A file's chunks are
    // read at once, several in flight.
    const after = this.fill.positional ? Promise.resolve() : this.chain;
    const run = after.then(async () => {
      if (this.failure) throw this.failure;
      const got = bytesWanted === 0 ? 0 : await this.fill(views, (first - 1) * this.blksize);
      if (got !== bytesWanted) {
        throw new TftpError(
          TftpErrorCode.Source,
          `source ended after ${(first - 1) * this.blksize + got} of ${this.size} bytes`,
        );
      }
      const packets: Buffer[] = [];
      for (let i = 0; i < count; i++) {
        const n = first + i;
        const at = i * this.stride;
        buf[at] = 0;
        buf[at + 1] = Opcode.DATA;
        buf[at + 2] = (n >>> 8) & 0xff; // block numbers roll over 65535 → 0, as tftpd-hpa does
        buf[at + 3] = n & 0xff;
        const len = n === this.totalBlocks ? this.size - (n - 1) * this.blksize : this.blksize;
        packets.push(buf.subarray(at, at + 4 + len));
      }
      chunk.packets = packets;
    });
    chunk.loading = run.catch((err: unknown) => {
      this.failure ??=
        err instanceof TftpError
          ? err
          : new TftpError(TftpErrorCode.Source, `read failed: ${String(err)}`, { cause: err });
      throw this.failure;
    });
    chunk.loading.catch(() => undefined); // observed by ready(); never unhandled
    const settled = chunk.loading.catch(() => undefined);
    this.chain = this.fill.positional ? Promise.all([this.chain, settled]) : settled;
    this.chunks.set(c, chunk);
    return chunk;
  }
}

/** Reads a file descriptor with readv, one iovec per block, retrying short reads. */
export function fdFiller(fd: number): Filler {
  const filler: Filler = async (views, position) => {
    let total = 0;
    let rest = views;
    while (rest.length > 0) {
      const batch = rest.length > IOV_MAX ? rest.slice(0, IOV_MAX) : rest;
      const n = await new Promise<number>((resolve, reject) =>
        readv(fd, batch, position + total, (err, bytes) => (err ? reject(err) : resolve(bytes))),
      );
      if (n === 0) break;
      total += n;
      rest = skip(rest, n);
    }
    return total;
  };
  filler.positional = true;
  return filler;
}

function skip(views: Buffer[], bytes: number): Buffer[] {
  let i = 0;
  while (i < views.length && bytes >= views[i]!.length) bytes -= views[i++]!.length;
  const out = views.slice(i);
  if (bytes > 0 && out.length > 0) out[0] = out[0]!.subarray(bytes);
  return out;
}

/**
 * Copies a Readable's bytes into the views, in order; position is implied (streams only go forward).
 * Bytes past the last view are kept for the next call; `transform` (netascii) is applied to each chunk.
 */
export function streamFiller(stream: Readable, transform?: (b: Buffer) => Buffer): Filler {
  const it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  let pending: Buffer = Buffer.alloc(0);
  let ended = false;
  return async (views) => {
    let total = 0;
    for (const view of views) {
      let at = 0;
      while (at < view.length) {
        if (pending.length === 0) {
          if (ended) return total + at;
          const next = await it.next();
          if (next.done) {
            ended = true;
            continue;
          }
          const raw = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
          pending = transform ? transform(raw) : raw;
          continue;
        }
        const n = pending.copy(view, at);
        at += n;
        pending = pending.subarray(n);
      }
      total += at;
    }
    return total;
  };
}

/** netascii (RFC 764 via RFC 1350): LF → CR LF and a bare CR → CR NUL. Stateless per byte. */
export function toNetascii(input: Buffer): Buffer {
  let extra = 0;
  for (let i = 0; i < input.length; i++) if (input[i] === 10 || input[i] === 13) extra++;
  if (extra === 0) return input;
  const out = Buffer.allocUnsafe(input.length + extra);
  let o = 0;
  for (let i = 0; i < input.length; i++) {
    const b = input[i]!;
    if (b === 10) {
      out[o++] = 13;
      out[o++] = 10;
    } else if (b === 13) {
      out[o++] = 13;
      out[o++] = 0;
    } else out[o++] = b;
  }
  return out;
}

/** Size of a stream after netascii conversion (reads it to the end). */
export async function netasciiSize(stream: Readable): Promise<number> {
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer | string>) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += b.length;
    for (let i = 0; i < b.length; i++) if (b[i] === 10 || b[i] === 13) size++;
  }
  return size;
}
