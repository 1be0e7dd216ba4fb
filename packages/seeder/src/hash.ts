import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { SeederError, SeederErrorCode, abortError } from './errors.js';

/** A file of the torrent as the hasher sees it: absolute path and length, in torrent order. */
export interface HashFile {
  abs: string;
  length: number;
}

export interface HashOptions {
  pieceLength: number;
  threads?: number;
  signal?: AbortSignal | undefined;
  onProgress?: ((hashedBytes: number) => void) | undefined;
}

/** Pieces handed to a worker at a time: small enough to balance a shared machine, big enough to amortize. */
const BATCH_PIECES = 8;

// The worker is inline (eval) so the agent bundles into one .mjs with no side files. It reads the
// pieces of a batch across file boundaries with positioned reads and hashes them with node:crypto.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { openSync, readSync, closeSync } = require('node:fs');
const { createHash } = require('node:crypto');
const { files, pieceLength } = workerData;
const starts = []; let acc = 0;
for (const f of files) { starts.push(acc); acc += f.length; }
const total = acc;
const fds = new Map();
const buf = Buffer.allocUnsafe(pieceLength);
function fd(i) { let d = fds.get(i); if (d === undefined) { d = openSync(files[i].abs, 'r'); fds.set(i, d); } return d; }
function readAt(pos, len) {
  let lo = 0, hi = files.length - 1;
  while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (starts[mid] <= pos) lo = mid; else hi = mid - 1; }
  let filled = 0, i = lo;
  while (filled < len && i < files.length) {
    const off = pos + filled - starts[i];
    const want = Math.min(len - filled, files[i].length - off);
    if (want > 0) {
      const n = readSync(fd(i), buf, filled, want, off);
      if (n !== want) throw new Error('short read in ' + files[i].abs + ' (file changed while hashing?)');
      filled += n;
    }
    i++;
  }
  return buf.subarray(0, len);
}
parentPort.on('message', (m) => {
  if (m === null) { for (const d of fds.values()) closeSync(d); parentPort.close(); return; }
  try {
    const out = new Uint8Array((m.to - m.from) * 20);
    for (let p = m.from; p < m.to; p++) {
      const pos = p * pieceLength;
      createHash('sha1').update(readAt(pos, Math.min(pieceLength, total - pos))).digest().copy(out, (p - m.from) * 20);
    }
    parentPort.postMessage({ from: m.from, out }, [out.buffer]);
  } catch (e) { parentPort.postMessage({ error: String(e && e.message || e) }); }
});
`;

/**
 * SHA-1 of every piece (BEP 3 `pieces`), on `threads` worker threads (default: every core), because
 * create-torrent hashes on one thread (measured 3.5 s for 1 GiB where mktorrent -t 2 took 0.6 s).
 * Returns the 20-byte digests concatenated.
 */
export async function hashPieces(files: HashFile[], opts: HashOptions): Promise<Buffer> {
  const { pieceLength, signal } = opts;
  const total = files.reduce((s, f) => s + f.length, 0);
  const pieceCount = Math.ceil(total / pieceLength);
  const result = Buffer.alloc(pieceCount * 20);
  if (pieceCount === 0) return result;
  if (signal?.aborted) throw abortError(signal, 'hashing');
  const batches = Math.ceil(pieceCount / BATCH_PIECES);
  const threads = Math.max(1, Math.min(opts.threads ?? availableParallelism(), batches));
  const workers: Worker[] = [];
  let nextBatch = 0;
  let hashed = 0;
  let onAbort: (() => void) | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      let done = 0;
      const fail = (err: unknown): void => reject(err);
      onAbort = (): void => fail(abortError(signal, 'hashing'));
      signal?.addEventListener('abort', onAbort, { once: true });
      const feed = (w: Worker): void => {
        if (nextBatch >= batches) return;
        const from = nextBatch++ * BATCH_PIECES;
        w.postMessage({ from, to: Math.min(pieceCount, from + BATCH_PIECES) });
      };
      for (let i = 0; i < threads; i++) {
        const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { files, pieceLength } });
        workers.push(w);
        w.on('error', fail);
        w.on('message', (m: { from: number; out: Uint8Array } | { error: string }) => {
          if ('error' in m) {
            fail(new SeederError(SeederErrorCode.BadFolder, `hashing failed: ${m.error}`));
            return;
          }
          Buffer.from(m.out).copy(result, m.from * 20);
          const n = m.out.byteLength / 20;
          hashed += Math.min(n * pieceLength, total - m.from * pieceLength);
          opts.onProgress?.(hashed);
          if (++done === batches) resolve();
          else feed(w);
        });
        // two batches in flight per worker: it never waits for this (busy, shared) thread to hand out work
        feed(w);
        feed(w);
      }
    });
  } finally {
    if (onAbort) signal?.removeEventListener('abort', onAbort);
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return result;
}
