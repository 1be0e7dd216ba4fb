import { Socket } from 'node:net';
import Peer from 'webtorrent/lib/peer.js';
import { writeDone } from './buffer-pool.js';

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
}

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
  const original = wire._write.bind(wire);
  wire._write = (data, cb) => {
    if (wire._encryptor || wire._cryptoSyncPattern || wire._pePending) return original(data, cb);
    wire._buffer.push(data);
    wire._bufferSize += data.length;
    while (wire._bufferSize >= wire._parserSize) {
      if (wire._cryptoSyncPattern || wire._pePending) {
        // the handshake switched to encryption: hand the rest to the library's own parser
        const rest = wire._buffer.splice(0);
        const size = wire._bufferSize;
        wire._bufferSize = 0;
        if (size > 0) return original(joinAll(rest, size), cb);
        break;
      }
      const size = wire._parserSize;
      wire._parser(size === 0 ? new Uint8Array(0) : take(wire, size));
    }
    cb(null);
  };
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
  let corked = false;
  const uncork = (): void => {
    corked = false;
    if (!conn.destroyed) conn.uncork();
  };
  wire._push = (data: Uint8Array) => {
    if (wire._finished || conn.destroyed) return false;
    if (wire._encryptor) data = wire._encryptor.encrypt(data);
    if (!corked) {
      corked = true;
      conn.cork();
      process.nextTick(uncork);
    }
    peer.emit('upload', data.length);
    const done = writeDone(data);
    return done ? conn.write(data, done) : conn.write(data);
  };
  conn.on('data', (chunk: Buffer) => {
    if (peer.destroyed || wire.destroyed) return;
    peer.emit('download', chunk.length);
    wire._write(chunk, noop);
  });
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
