import { Socket } from 'node:net';
import Peer from 'webtorrent/lib/peer.js';
import { releaseBuffer, takeBuffer, writeDone } from './buffer-pool.js';
import { isBootTorrentPeerId } from './peer-id.js';

/**
 * The parts of a bittorrent-protocol 5 wire the fast path replaces or reads. Field names are that
 * library's (its message parser: `_parserSize` bytes go to `_parser`; `_buffer` holds what arrived).
 */
export interface FastWire {
  destroyed: boolean;
  _finished: boolean;
  _buffer: Uint8Array[];
  _bufferSize: number;
  _parserSize: number;
  _parser: (message: Uint8Array) => void;
  _encryptor: { encrypt(data: Uint8Array): Uint8Array } | null;
  _cryptoSyncPattern: Uint8Array | null;
  _pePending: boolean;
  _write(data: Uint8Array, cb: (err?: Error | null) => void): void;
  _push(data: Uint8Array): boolean;
  _parse(size: number, parser: (message: Uint8Array) => void): void;
  _onMessage(message: Uint8Array): void;
  _onMessageLength(message: Uint8Array): void;
  _onPiece(index: number, offset: number, block: Uint8Array): void;
  _onReject(index: number, offset: number, length: number): void;
  _onRequest(index: number, offset: number, length: number): void;
  /** serve.ts: answers a REQUEST at once if it can (true), else the library's `_onRequest` does */
  _serve?: ((index: number, offset: number, length: number) => boolean) | undefined;
  piece(index: number, offset: number, buffer: Uint8Array): void;
  uploaded: number;
  uploadSpeed(bytes: number): number;
  emit(event: 'upload', bytes: number): boolean;
  /** requests sent and not yet answered (bittorrent-protocol's `Request` objects) */
  requests: { piece: number; offset: number; length: number }[];
  /** the remote's peer id, hex, once its handshake arrived */
  peerId?: string;
  /** the socket this wire writes into directly (read by the upload queue) */
  _directSocket?: Socket;
  /**
   * span-request.ts: where the answer to each span request goes (its blocks' place in their piece's
   * buffer), keyed by {@link spanKey}: an answer split across socket reads is gathered there directly
   */
  _spanTargets?: Map<number, Buffer>;
}

/** The key of a span request's target in `_spanTargets`: piece index and block number. */
export const spanKey = (index: number, offset: number): number => index * 65_536 + offset / (16 * 1024);

/** The parts of a webtorrent Peer the fast path reads. */
interface FastPeer {
  conn: unknown;
  wire: FastWire | null;
  destroyed: boolean;
  throttleGroups: { up: { getEnabled(): boolean }; down: { getEnabled(): boolean } };
  emit(event: 'download' | 'upload', bytes: number): boolean;
}

/** Throttle groups of the clients that asked for the fast path (one object per webtorrent client). */
const fastGroups = new WeakSet<object>();
let installed = false;
const noop = (): void => {};

/** BitTorrent's request unit (BEP 3 practice). */
const BLOCK = 16 * 1024;

/**
 * Largest request sent to a BootTorrent peer: consecutive 16 KiB requests for one piece leave as one
 * REQUEST of up to this much, answered by one PIECE, which is cut back into 16 KiB blocks on arrival.
 * webtorrent serves requests up to 128 KiB (its MAX_BLOCK_LENGTH); other clients (aria2c: at most
 * 16 KiB, as BEP 3 says current implementations use) never get one.
 * @default 128 KiB
 */
export const BIG_REQUEST_BYTES = 128 * 1024;

const u32 = (b: Uint8Array, at: number): number =>
  ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;

function message(id: number, index: number, offset: number, length: number): Uint8Array {
  const m = new Uint8Array(17);
  const v = new DataView(m.buffer);
  v.setUint32(0, 13);
  m[4] = id;
  v.setUint32(5, index);
  v.setUint32(9, offset);
  v.setUint32(13, length);
  return m;
}

/**
 * Takes bytes off the front of a wire's input without joining the chunks it arrived in: a message
 * inside one chunk is a view of it (a 16 KiB PIECE block is never copied here), a message split across
 * chunks is copied once into a buffer of its own size.
 */
function take(wire: FastWire, size: number): Uint8Array {
  const first = wire._buffer[0]!;
  wire._bufferSize -= size;
  if (first.length > size) {
    wire._buffer[0] = first.subarray(size);
    return first.subarray(0, size);
  }
  if (first.length === size) {
    wire._buffer.shift();
    return first;
  }
  const out = new Uint8Array(size);
  let filled = 0;
  while (filled < size) {
    const chunk = wire._buffer[0]!;
    const n = Math.min(chunk.length, size - filled);
    out.set(n === chunk.length ? chunk : chunk.subarray(0, n), filled);
    filled += n;
    if (n === chunk.length) wire._buffer.shift();
    else wire._buffer[0] = chunk.subarray(n);
  }
  return out;
}

/**
 * Replaces the wire's `_write` (bittorrent-protocol joins every chunk that arrives to the bytes still
 * waiting, a copy of up to 64 KiB per socket read, and so copies each PIECE message twice on average)
 * by a parser that cuts messages out of the chunks as they are. Encrypted (MSE) wires keep the
 * library's code: it then sees its usual single joined buffer.
 */
export function fastParse(wire: FastWire): void {
  onMessage ??= Object.getPrototypeOf(wire)._onMessage as (message: Uint8Array) => void;
  const original = wire._write.bind(wire);
  /** two owned buffers in turn for what a borrowed read leaves unparsed (see {@link readInto}) */
  const carry: [Buffer | null, Buffer | null] = [null, null];
  let turn = 0;
  /** Copies the bytes still waiting out of a borrowed read buffer, before that is read into again. */
  const keepRest = (): void => {
    const n = wire._bufferSize;
    if (n === 0) {
      wire._buffer.length = 0;
      return;
    }
    turn ^= 1;
    let own = carry[turn];
    if (!own || own.length < n) own = carry[turn] = Buffer.allocUnsafeSlow(Math.max(n, 32 * 1024));
    let at = 0;
    for (const c of wire._buffer) {
      own.set(c, at);
      at += c.length;
    }
    wire._buffer.length = 0;
    wire._buffer.push(own.subarray(0, n));
  };
  /** a PIECE longer than one block being received: its blocks go to the wire as they arrive */
  let big: { index: number; offset: number; left: number } | null = null;
  /**
   * a PIECE answering one span request (span-request.ts): gathered, then handed to the wire whole;
   * into its place in the piece when the request said where (`own` false), else into a pooled buffer
   */
  let whole: { index: number; offset: number; buf: Buffer; filled: number; own: boolean } | null = null;
  wire._write = (data, cb) => {
    const lent = borrowed;
    if (wire._encryptor || wire._cryptoSyncPattern || wire._pePending)
      return original(lent ? new Uint8Array(data) : data, cb);
    wire._buffer.push(data);
    wire._bufferSize += data.length;
    for (;;) {
      if (whole) {
        const w = whole;
        while (w.filled < w.buf.length && wire._bufferSize > 0) {
          const chunk = wire._buffer[0]!;
          const n = Math.min(chunk.length, w.buf.length - w.filled);
          w.buf.set(n === chunk.length ? chunk : chunk.subarray(0, n), w.filled);
          w.filled += n;
          wire._bufferSize -= n;
          if (n === chunk.length) wire._buffer.shift();
          else wire._buffer[0] = chunk.subarray(n);
        }
        if (w.filled < w.buf.length) break;
        whole = null;
        // the request's callback copies the bytes into their piece (unless already there) before this returns
        wire._onPiece(w.index, w.offset, w.buf);
        if (w.own) releaseBuffer(w.buf);
        continue;
      }
      if (big) {
        const n = Math.min(BLOCK, big.left);
        if (wire._bufferSize < n) break;
        const { index, offset } = big;
        big.offset += n;
        big.left -= n;
        if (big.left === 0) big = null;
        wire._onPiece(index, offset, take(wire, n));
        continue;
      }
      const size = wire._parserSize;
      // the answer to a coalesced request (BIG_REQUEST_BYTES): cut into blocks without joining it first
      if (
        wire._parser === onMessage &&
        size > 9 + BLOCK &&
        wire._bufferSize >= 9 &&
        wire._buffer[0]![0] === 7
      ) {
        const head = take(wire, 9);
        wire._parse(4, wire._onMessageLength);
        const index = u32(head, 1);
        const offset = u32(head, 5);
        const length = size - 9;
        if (!asked(wire, index, offset, length)) big = { index, offset, left: length };
        else if (wire._bufferSize >= length && wire._buffer[0]!.length >= length)
          wire._onPiece(index, offset, take(wire, length)); // whole in one read: a view of it
        else {
          const into = wire._spanTargets?.get(spanKey(index, offset));
          whole =
            into?.length === length
              ? { index, offset, buf: into, filled: 0, own: false }
              : { index, offset, buf: takeBuffer(length), filled: 0, own: true };
        }
        continue;
      }
      if (wire._bufferSize < size) break;
      if (wire._cryptoSyncPattern || wire._pePending) {
        // the handshake switched to encryption: hand the rest to the library's own parser
        const rest = wire._buffer.splice(0);
        const n = wire._bufferSize;
        wire._bufferSize = 0;
        if (n > 0) return original(lent ? new Uint8Array(joinAll(rest, n)) : joinAll(rest, n), cb);
        break;
      }
      let msg = size === 0 ? new Uint8Array(0) : take(wire, size);
      // a REQUEST: answered by serve.ts from the piece cache, or by the library (as _onMessage would)
      if (size === 13 && msg[0] === 6 && wire._parser === onMessage && wire._serve) {
        wire._parse(4, wire._onMessageLength);
        const index = u32(msg, 1);
        const offset = u32(msg, 5);
        const length = u32(msg, 9);
        if (!wire._serve(index, offset, length)) wire._onRequest(index, offset, length);
        continue;
      }
      // handlers may keep a message (a BITFIELD, an extended message): not a view of a borrowed read.
      // A PIECE's block is copied into its piece before the handler returns.
      if (lent && !(wire._parser === onMessage && msg[0] === 7)) msg = new Uint8Array(msg);
      if (wire._parser === onMessage && rejectBig(wire, msg)) continue;
      wire._parser(msg);
    }
    if (lent) keepRest();
    cb(null);
  };
}

/** True while the wire parses bytes of the shared read buffer (see {@link readInto}). */
let borrowed = false;

/**
 * Size of the one read buffer every direct TCP socket of the process shares: a socket read brings at
 * most this much (Node's own reads bring at most 64 KiB, in a fresh buffer each).
 * @default 256 KiB
 */
export const READ_BYTES = 256 * 1024;
let readBuffer: Buffer | undefined;

/** Node's socket fields behind `net.connect({ onread })` (lib/net.js: own symbol properties of every Socket). */
interface UserBufferSocket {
  _handle?: { useUserBuffer?(buf: Uint8Array): void } | null;
}

/**
 * Makes `conn` read into one buffer shared by every socket of the process and hand each read to
 * `onRead` in place, as `net.connect({ onread })` does; false if this Node does not allow it (then
 * nothing changed). Why: a socket otherwise allocates a fresh 64 KiB buffer outside V8's heap for
 * every read, 8,000 of them per 512 MiB, and V8 answers that much external memory with full
 * mark-compacts (21 per 512 MiB in one downloader) once little else is allocated. `onRead` must be
 * done with the bytes when it returns; the parser copies what it keeps (fastParse).
 */
function readInto(conn: Socket, onRead: (chunk: Uint8Array) => void): boolean {
  const syms = Object.getOwnPropertySymbols(conn);
  const kBuffer = syms.find((s) => s.description === 'kBuffer');
  const kBufferCb = syms.find((s) => s.description === 'kBufferCb');
  const handle = (conn as unknown as UserBufferSocket)._handle;
  const own = conn as unknown as Record<symbol, unknown>;
  if (!kBuffer || !kBufferCb || own[kBuffer] !== null || typeof handle?.useUserBuffer !== 'function')
    return false;
  // what the stream read before the switch is owned: hand it over first
  for (let c: Buffer | null; (c = conn.read() as Buffer | null) !== null;) onRead(c);
  readBuffer ??= Buffer.allocUnsafeSlow(READ_BYTES);
  const buf = readBuffer;
  own[kBuffer] = buf;
  own[kBufferCb] = (n: number) => {
    borrowed = true;
    try {
      onRead(buf.subarray(0, n));
    } finally {
      borrowed = false;
    }
  };
  handle.useUserBuffer(buf);
  conn.resume();
  return true;
}

let onMessage: ((message: Uint8Array) => void) | undefined;

/**
 * A REJECT of a coalesced request ({@link BIG_REQUEST_BYTES}) is handed to the wire as the rejects of
 * the 16 KiB blocks that were asked for. True if `msg` was handled here.
 */
function rejectBig(wire: FastWire, msg: Uint8Array): boolean {
  if (msg[0] !== 16 || msg.length !== 13 || u32(msg, 9) <= BLOCK) return false;
  if (asked(wire, u32(msg, 1), u32(msg, 5), u32(msg, 9))) return false; // a span request's: the wire's own
  wire._parse(4, wire._onMessageLength);
  const index = u32(msg, 1);
  const offset = u32(msg, 5);
  const length = u32(msg, 9);
  for (let at = 0; at < length; at += BLOCK) wire._onReject(index, offset + at, Math.min(BLOCK, length - at));
  return true;
}

/** True if the wire has a request out for exactly this span (a span request, not coalesced blocks). */
function asked(wire: FastWire, index: number, offset: number, length: number): boolean {
  for (const r of wire.requests)
    if (r.piece === index && r.offset === offset && r.length === length) return true;
  return false;
}

function joinAll(chunks: Uint8Array[], size: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * Connects a TCP socket and its wire directly, replacing webtorrent's stream pipeline
 * (socket → throttle → counter → wire → throttle → counter → socket: four stream hops, each a
 * microtask and a state machine per chunk, for throttles that are off). Incoming chunks go straight to
 * the wire's parser; outgoing messages go straight to the socket, all those of one tick in one
 * `writev` (the socket is corked until the next tick: a block's 13-byte header and its 16 KiB, and the
 * dozens of 17-byte REQUESTs an update sends, leave in one system call instead of one each).
 */
function connect(peer: FastPeer, conn: Socket, wire: FastWire): void {
  fastParse(wire);
  wire._directSocket = conn; // for the upload queue: this socket holds everything the wire wrote
  let corked = false;
  /** consecutive 16 KiB requests of one piece, not yet written (BootTorrent peers only) */
  let pending: { index: number; offset: number; length: number } | null = null;
  let ours: boolean | undefined;
  /** bytes written this tick, told to webtorrent's peer (its upload counters) once, on uncork */
  let written = 0;
  const write = (data: Uint8Array): boolean => {
    written += data.length;
    const done = writeDone(data);
    return done ? conn.write(data, done) : conn.write(data);
  };
  const flush = (): void => {
    if (!pending) return;
    const { index, offset, length } = pending;
    pending = null;
    write(message(6, index, offset, length));
  };
  const uncork = (): void => {
    corked = false;
    if (!conn.destroyed) flush();
    if (written > 0) {
      const n = written;
      written = 0;
      peer.emit('upload', n);
    }
    if (!conn.destroyed) conn.uncork();
  };
  /** Bytes towards the socket: encrypted if the wire is, written corked with the rest of this tick's. */
  const send = (data: Uint8Array): boolean => {
    if (wire._finished || conn.destroyed) return false;
    if (wire._encryptor) data = wire._encryptor.encrypt(data);
    if (!corked) {
      corked = true;
      conn.cork();
      process.nextTick(uncork);
    }
    flush();
    return write(data);
  };
  // A PIECE: its 13-byte header and the block, one after the other in this tick's writev (the library
  // formats the header through its generic message code and passes each part through _push).
  wire.piece = (index: number, offset: number, buffer: Uint8Array) => {
    const head = Buffer.allocUnsafe(13);
    head.writeUInt32BE(9 + buffer.length, 0);
    head[4] = 7;
    head.writeUInt32BE(index, 5);
    head.writeUInt32BE(offset, 9);
    send(head);
    send(buffer);
    wire.uploaded += buffer.length;
    wire.uploadSpeed(buffer.length);
    wire.emit('upload', buffer.length);
  };
  wire._push = (data: Uint8Array) => {
    if (wire._finished || conn.destroyed) return false;
    // a REQUEST (17 bytes: length 13, id 6) for one block, to a BootTorrent peer: coalesce
    if (data.length === 17 && data[4] === 6 && data[3] === 13 && !wire._encryptor) {
      ours ??= wire.peerId === undefined ? undefined : isBootTorrentPeerId(wire.peerId);
      if (ours && u32(data, 13) === BLOCK) {
        const index = u32(data, 5);
        const offset = u32(data, 9);
        if (
          pending &&
          pending.index === index &&
          pending.offset + pending.length === offset &&
          pending.length + BLOCK <= BIG_REQUEST_BYTES
        ) {
          pending.length += BLOCK;
          return true;
        }
        if (!corked) {
          corked = true;
          conn.cork();
          process.nextTick(uncork);
        }
        flush();
        pending = { index, offset, length: BLOCK };
        return true;
      }
    }
    return send(data);
  };
  const onRead = (chunk: Uint8Array): void => {
    if (peer.destroyed || wire.destroyed) return;
    peer.emit('download', chunk.length);
    wire._write(chunk, noop);
  };
  if (!readInto(conn, onRead)) conn.on('data', onRead);
}

/**
 * Puts a webtorrent client's TCP connections on the fast path (see {@link connect}) when neither of its
 * throttles is on. Patches webtorrent's Peer once per process; other clients in the process keep
 * webtorrent's pipeline.
 */
export function enableFastWire(client: { throttleGroups: object }): void {
  fastGroups.add(client.throttleGroups);
  if (installed) return;
  installed = true;
  const proto = Peer.prototype as unknown as { setThrottlePipes(this: FastPeer): void };
  const original = proto.setThrottlePipes;
  proto.setThrottlePipes = function setThrottlePipes(this: FastPeer) {
    const { conn, wire } = this;
    const groups = this.throttleGroups;
    if (
      !wire ||
      !(conn instanceof Socket) ||
      !fastGroups.has(groups) ||
      groups.up.getEnabled() ||
      groups.down.getEnabled()
    )
      return original.call(this);
    connect(this, conn, wire);
  };
}
