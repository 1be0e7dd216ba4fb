/**
 * Reuse of piece-sized buffers. Every piece a machine receives or serves used to be a fresh
 * allocation outside V8's heap (2 MiB each for a 512 MiB image), and V8 answers that much external
 * memory with a full mark-compact every few dozen MiB: 14-19 % of the seeder's and the clients' CPU in
 * the swarm benchmark at 1000 Mbit/s. A buffer comes back here only when nothing can still read it.
 */

/**
 * Bytes of free buffers kept per length (at least 2 buffers): a downloader of a 512 MiB image keeps at
 * most 4 free pieces of 2 MiB. Pieces are released and taken in turn, so few are enough; its RSS goal
 * is 150 MiB, of which Node and the libraries take ~70.
 * @default 8 MiB
 */
export const POOL_BYTES_PER_LENGTH = 8 * 1024 * 1024;

interface Lease {
  buf: Buffer;
  /** views handed out and not yet written to a socket (or dropped: then the buffer is never reused) */
  views: number;
  /** the owner is done with it; it goes back to the pool when `views` reaches 0 */
  released: boolean;
}

const free = new Map<number, Buffer[]>();
const leases = new WeakMap<ArrayBufferLike, Lease>();

/** A buffer of exactly `length` bytes, reused if one is free (contents undefined). */
export function takeBuffer(length: number): Buffer {
  const buf = free.get(length)?.pop() ?? Buffer.allocUnsafeSlow(length);
  leases.set(buf.buffer, { buf, views: 0, released: false });
  return buf;
}

function recycle(lease: Lease): void {
  leases.delete(lease.buf.buffer);
  let list = free.get(lease.buf.length);
  if (!list) free.set(lease.buf.length, (list = []));
  if (list.length < Math.max(2, Math.floor(POOL_BYTES_PER_LENGTH / lease.buf.length))) list.push(lease.buf);
}

/** The owner no longer needs `buf`: it is reused once every view of it handed out was written. */
export function releaseBuffer(buf: Buffer): void {
  const lease = leases.get(buf.buffer);
  if (!lease || lease.released) return;
  lease.released = true;
  if (lease.views === 0) recycle(lease);
}

/** True if `buf` came from {@link takeBuffer} and was not released: its owner may hand it on. */
export function isLeased(buf: Buffer): boolean {
  const lease = leases.get(buf.buffer);
  return lease !== undefined && lease.buf === buf && !lease.released;
}

/** A view of `buf` that a socket write will account for (see {@link writeDone}). */
export function lendView(buf: Buffer, start: number, end: number): Buffer {
  const lease = leases.get(buf.buffer);
  if (lease) lease.views++;
  return buf.subarray(start, end);
}

/** Below this a write is a protocol message, never a lent view (and `.buffer` of a small typed array costs an allocation). */
const MIN_VIEW = 1024;

/**
 * The callback to pass to `socket.write(data, cb)` when `data` may be a lent view, else undefined.
 * When the write completes (or fails), the view no longer pins its buffer.
 */
export function writeDone(data: Uint8Array): (() => void) | undefined {
  if (data.length < MIN_VIEW) return undefined;
  const lease = leases.get(data.buffer);
  if (!lease) return undefined;
  return () => {
    lease.views--;
    if (lease.released && lease.views === 0 && leases.get(lease.buf.buffer) === lease) recycle(lease);
  };
}
