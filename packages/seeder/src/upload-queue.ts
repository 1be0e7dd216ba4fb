import type { Torrent, Wire } from 'webtorrent';
import { socketOf } from './socket.js';

/**
 * The least a connection may hold between webtorrent and the kernel before the queue stops feeding
 * it: 26 ms at 20 Mbit/s, small next to a 1 MiB piece. Each connection starts here.
 */
export const UPLOAD_BACKLOG_BYTES = 64 * 1024;

/**
 * The most: a connection whose kernel takes its whole allowance between two pumps gets twice as much,
 * up to this (33 ms at 1 Gbit/s). A fixed 64 KiB capped every connection at 64 KiB per pump, ~100
 * Mbit/s (measured on loopback: 64 MiB in 4.7 s with the queue against 1.65 s without).
 */
export const UPLOAD_BACKLOG_MAX_BYTES = 4 * 1024 * 1024;

/** How often a queue with blocked connections looks at them again (the kernel drains without an event). */
const PUMP_INTERVAL_MS = 5;

/** The parts of a node:net socket the queue reads. */
export interface QueueSocket {
  /** bytes handed to libuv (node:net internal, present since Node 0.x) */
  _bytesDispatched?: number;
  /** libuv's bytes not yet accepted by the kernel */
  _handle?: { writeQueueSize?: number } | null;
  destroyed?: boolean;
  /** bytes written to the socket and still in Node (corked or waiting for libuv) */
  writableLength?: number;
}

/** The parts of a bittorrent-protocol wire the queue wraps. */
export interface QueueWire {
  destroyed: boolean;
  /**
   * Set by fast-wire.ts: the wire writes straight into this socket, so the socket alone knows what is
   * not yet in the kernel (counting the wire's pushes would count the REQUESTs it coalesces).
   */
  _directSocket?: unknown;
  piece(index: number, offset: number, buffer: Uint8Array): void;
  _push(data: Uint8Array): boolean;
  on(event: 'cancel', listener: (index: number, offset: number, length: number) => void): unknown;
  once(event: 'close', listener: () => void): unknown;
}

interface Conn {
  socket: QueueSocket;
  /** the wire writes straight into the socket (see QueueWire._directSocket) */
  direct: boolean;
  /** bytes the wire pushed towards the socket since we attached */
  pushed: number;
  /** what the kernel had accepted from the socket when we attached */
  base: number;
  send: (index: number, offset: number, buffer: Uint8Array) => void;
  /** this connection's queued pieces, by piece index */
  groups: Map<number, Group>;
  /** bytes it may hold above the kernel now, between the queue's floor and ceiling */
  allowance: number;
  /** when the queue last stopped feeding it for want of allowance (undefined: it is not blocked) */
  blockedAt: number | undefined;
}

interface Group {
  conn: Conn;
  index: number;
  blocks: { offset: number; buffer: Uint8Array }[];
}

/** Bytes of a socket the kernel has accepted (dispatched to libuv minus libuv's pending queue). */
function inKernel(s: QueueSocket): number {
  return (s._bytesDispatched ?? 0) - (s._handle?.writeQueueSize ?? 0);
}

/**
 * Holds a machine's outgoing piece data back until its connection can take it, so protocol messages
 * overtake bulk data.
 *
 * Why. webtorrent answers every request at once: the blocks go into the wire's stream and from there
 * into the kernel, which buffers up to the socket's autotuned send buffer (measured in the swarm
 * benchmark: 0.4–0.7 MB unsent per connection). A HAVE, REQUEST or CANCEL written after them waits
 * behind all of it, seconds when 15 connections share a 20 Mbit/s link, so peers learn late what this
 * machine holds and ask late for what it needs. Here each connection holds at most `backlogBytes` of
 * piece data in Node; the rest waits in this queue, whole pieces in request order, oldest piece of the
 * machine first, and every connection that can take more gets it (the link never idles while a block
 * waits). Measured in docs/performance.md, "## swarm".
 *
 * The kernel's share is bounded only if `net.ipv4.tcp_notsent_lowat` is set: the phase-1 /init of
 * @boottorrent/initrd-builder sets it on every client. Without it the queue rarely holds anything.
 *
 * Works by wrapping `wire.piece` (after any super-seeder, so that one counts a piece as sent when it
 * really leaves) and `wire._push` (to count what the wire wrote) of each TCP wire. Queued blocks are the
 * ones webtorrent already read for the request. A peer's CANCEL drops its queued block; a closed wire
 * drops its queue. Wires whose socket cannot be found (uTP, WebRTC) are not queued.
 */
export class UploadQueue {
  private readonly groups: Group[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;
  /** blocks that could not go out at once and waited in the queue */
  waited = 0;

  /**
   * @param backlogBytes each connection's starting and smallest allowance
   * @param maxBacklogBytes the largest it grows to when the kernel keeps draining it
   * @param now the clock (a seam for tests)
   */
  constructor(
    torrent: Torrent | undefined,
    private readonly backlogBytes = UPLOAD_BACKLOG_BYTES,
    private readonly maxBacklogBytes = Math.max(backlogBytes, UPLOAD_BACKLOG_MAX_BYTES),
    private readonly now: () => number = () => performance.now(),
  ) {
    torrent?.on('wire', (wire: Wire) => {
      if (wire.type !== 'tcpIncoming' && wire.type !== 'tcpOutgoing') return;
      const socket = socketOf(torrent, wire);
      if (socket) this.attach(wire as unknown as QueueWire, socket);
    });
  }

  /** Sends every block at once from now on (the swarm is closing). */
  destroy(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const g of this.groups.splice(0)) for (const b of g.blocks) g.conn.send(g.index, b.offset, b.buffer);
  }

  /** Puts one wire under the queue. Exposed for tests; the constructor does it for a torrent's wires. */
  attach(wire: QueueWire, socket: QueueSocket): void {
    if (typeof socket._bytesDispatched !== 'number') return;
    const c: Conn = {
      socket,
      direct: wire._directSocket === socket && typeof socket.writableLength === 'number',
      pushed: 0,
      base: inKernel(socket),
      send: wire.piece.bind(wire),
      groups: new Map(),
      allowance: this.backlogBytes,
      blockedAt: undefined,
    };
    const push = wire._push.bind(wire);
    wire._push = (data: Uint8Array) => {
      c.pushed += data.length;
      return push(data);
    };
    wire.piece = (index: number, offset: number, buffer: Uint8Array) => {
      if (this.stopped || wire.destroyed) return c.send(index, offset, buffer);
      // Nothing waits anywhere and this connection has room: what pump() would do, without its groups.
      if (this.groups.length === 0 && this.backlog(c) < c.allowance) return c.send(index, offset, buffer);
      let g = c.groups.get(index);
      if (!g) {
        g = { conn: c, index, blocks: [] };
        c.groups.set(index, g);
        this.groups.push(g);
      }
      g.blocks.push({ offset, buffer });
      this.pump();
      if (g.blocks.length > 0) this.waited++;
    };
    wire.on('cancel', (index, offset) => {
      const g = c.groups.get(index);
      if (g) g.blocks = g.blocks.filter((b) => b.offset !== offset);
    });
    wire.once('close', () => {
      for (const g of c.groups.values()) g.blocks.length = 0;
      this.pump();
    });
  }

  /** Bytes of this connection not yet in the kernel. */
  private backlog(c: Conn): number {
    if (c.direct) return (c.socket.writableLength ?? 0) + (c.socket._handle?.writeQueueSize ?? 0);
    return c.pushed - (inKernel(c.socket) - c.base);
  }

  /**
   * Sizes a blocked connection's allowance to what its kernel drains: doubled when the kernel took
   * all of it within two pump intervals (the allowance, not the link, was the limit), halved when
   * after a whole interval more than half still waits above the kernel (more than ~10 ms of data
   * queued in front of the next HAVE). Only blocked connections, so that an idle one is never
   * mistaken for a fast one.
   */
  private size(c: Conn, now: number): void {
    if (c.blockedAt === undefined) return;
    const elapsed = now - c.blockedAt;
    const held = this.backlog(c);
    if (held <= 0 && elapsed <= 2 * PUMP_INTERVAL_MS)
      c.allowance = Math.min(this.maxBacklogBytes, c.allowance * 2);
    else if (elapsed >= PUMP_INTERVAL_MS && held > c.allowance / 2)
      c.allowance = Math.max(this.backlogBytes, c.allowance / 2);
    c.blockedAt = undefined;
  }

  /** Oldest piece first: feeds each queued connection up to its allowance. */
  pump(): void {
    if (this.stopped) return;
    const now = this.now();
    let waiting = false;
    for (let k = 0; k < this.groups.length;) {
      const g = this.groups[k]!;
      const c = g.conn;
      if (c.socket.destroyed) g.blocks.length = 0;
      this.size(c, now);
      while (g.blocks.length > 0 && this.backlog(c) < c.allowance) {
        const b = g.blocks.shift()!;
        c.send(g.index, b.offset, b.buffer);
      }
      if (g.blocks.length > 0) c.blockedAt ??= now;
      if (g.blocks.length === 0) {
        this.groups.splice(k, 1);
        if (c.groups.get(g.index) === g) c.groups.delete(g.index);
        continue;
      }
      waiting = true;
      k++;
    }
    if (waiting && this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.pump();
      }, PUMP_INTERVAL_MS);
    }
  }
}
