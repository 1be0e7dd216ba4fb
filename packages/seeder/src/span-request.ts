import { createHash } from 'node:crypto';
import { spanKey } from './fast-wire.js';
import { isBootTorrentPeerId, MAX_SPAN_BYTES, takesWholePieces } from './peer-id.js';
import { pieceTarget } from './piece-store.js';

/** BitTorrent's request unit (BEP 3 practice; torrent-piece's BLOCK_LENGTH). */
const BLOCK_LENGTH = 16 * 1024;

/**
 * Blocks one span request asks for: 8 × 16 KiB = 128 KiB, the most webtorrent serves in one REQUEST
 * (its MAX_BLOCK_LENGTH), so a BootTorrent seeder or downloader of any version answers it.
 * @default 8
 */
export const SPAN_BLOCKS = 8;

/** The parts of a torrent-piece `Piece` a span request reads and writes (field names are that library's). */
export interface SpanPiece {
  length: number;
  _chunks: number;
  _reservations: number;
  _cancellations: number[] | null;
  init(): boolean;
  chunkLength(i: number): number;
  cancel(i: number): void;
  set(i: number, data: Uint8Array, source: unknown): boolean;
  flush(): Uint8Array | null;
}

/** The parts of a bittorrent-protocol wire a span request uses. */
export interface SpanWire {
  type: string;
  peerId?: string | undefined;
  destroyed: boolean;
  requests: { length: number }[];
  /** set by fast-wire.ts when the wire reads and writes its socket directly */
  _directSocket?: unknown;
  _encryptor?: unknown;
  /** fast-wire.ts gathers the answer to a span request here (see `FastWire._spanTargets`) */
  _spanTargets?: Map<number, Buffer>;
  request(
    index: number,
    offset: number,
    length: number,
    cb: (err: Error | null, chunk: Uint8Array | null) => void,
  ): void;
  have(index: number): void;
}

/** The parts of a webtorrent torrent a span request uses (those of its `_request`). */
export interface SpanTorrent {
  destroyed: boolean;
  ready: boolean;
  pieces: (SpanPiece | null)[];
  bitfield: { get(i: number): boolean };
  _hashes: string[];
  _reservations: (unknown[] | null)[];
  wires: SpanWire[];
  store: { put(index: number, buf: Uint8Array, cb: (err: Error | null) => void): void };
  _markVerified(index: number): void;
  _checkDone(): void;
  _destroy(err: Error): void;
  _update(): void;
  once(event: 'ready', listener: () => void): unknown;
  emit(event: 'warning', err: Error): boolean;
}

/**
 * Blocks per span request for this wire, 0 if it gets none: a BootTorrent peer on fast-wire.ts's
 * direct path (which hands a whole PIECE answer to the wire at once) gets up to {@link SPAN_BLOCKS}
 * (128 KiB) per request, one of this version up to {@link MAX_SPAN_BYTES} (a whole piece).
 */
export function spansFor(wire: SpanWire): number {
  if (wire.type === 'webSeed' || wire._directSocket === undefined || wire._encryptor) return 0;
  if (takesWholePieces(wire.peerId)) return MAX_SPAN_BYTES / BLOCK_LENGTH;
  return isBootTorrentPeerId(wire.peerId) ? SPAN_BLOCKS : 0;
}

/** Blocks (16 KiB) a wire has asked for and not yet received, whatever the size of its requests. */
export function blocksInFlight(wire: SpanWire): number {
  let n = 0;
  for (const r of wire.requests) n += Math.ceil(r.length / BLOCK_LENGTH);
  return n;
}

/**
 * webtorrent's `Torrent._request` for up to {@link SPAN_BLOCKS} consecutive blocks in one REQUEST:
 * one request object, one callback, one piece update and one `_update` for 128 KiB instead of eight.
 * A block given back by a cancelled or rejected request is asked for alone. The piece is verified as
 * webtorrent does (SHA-1, written, marked, HAVE to every wire; a bad piece is dropped whole and a
 * warning emitted, which the corrupt-peer ban reads). Returns the blocks requested (0: none left).
 */
export function requestSpan(t: SpanTorrent, wire: SpanWire, index: number, maxBlocks = SPAN_BLOCKS): number {
  if (t.bitfield.get(index)) return 0;
  const piece = t.pieces[index];
  if (!piece?.init()) return 0;
  let first: number;
  let count: number;
  if (piece._cancellations!.length) {
    first = piece._cancellations!.pop()!;
    count = 1;
  } else if (piece._reservations < piece._chunks) {
    first = piece._reservations;
    count = Math.min(maxBlocks, piece._chunks - first);
    piece._reservations += count;
  } else return 0;
  const offset = first * BLOCK_LENGTH;
  const length = Math.min(count * BLOCK_LENGTH, piece.length - offset);
  const r = (t._reservations[index] ??= []);
  let slot = r.indexOf(null);
  if (slot === -1) slot = r.length;
  r[slot] = wire;
  const update = (): void => queueMicrotask(() => t._update());
  // the answer goes straight to its place in the piece (one copy less for one split across reads)
  const key = spanKey(index, offset);
  const into = count > 1 ? pieceTarget(piece, offset, length) : undefined;
  if (into) (wire._spanTargets ??= new Map()).set(key, into);
  const onChunk = (err: Error | null, chunk: Uint8Array | null): void => {
    if (into) wire._spanTargets?.delete(key);
    if (t.destroyed) return;
    if (!t.ready) {
      // not reached in practice (requests start after 'ready'); the chunk may be a reused buffer
      const copy = chunk && Buffer.from(chunk);
      t.once('ready', () => onChunk(err, copy));
      return;
    }
    if (r[slot] === wire) r[slot] = null;
    if (piece !== t.pieces[index]) return update();
    if (err || !chunk) {
      for (let i = first; i < first + count; i++) piece.cancel(i);
      return update();
    }
    if (!piece.set(first, chunk, wire)) return update();
    const buf = piece.flush()!;
    const hex = createHash('sha1').update(buf).digest('hex');
    if (hex !== t._hashes[index]) {
      t.pieces[index] = new (piece.constructor as new (length: number) => SpanPiece)(piece.length);
      t.emit('warning', new Error(`Piece ${index} failed verification`));
      return update();
    }
    t.store.put(index, buf, (err2) => {
      if (err2) return t._destroy(err2);
      t._markVerified(index);
      for (const w of t.wires) w.have(index);
      t._checkDone();
      update();
    });
  };
  wire.request(index, offset, length, onChunk);
  return count;
}
