import type { Torrent, Wire } from 'webtorrent';

/**
 * Bytes a connection may hold between webtorrent and the kernel before the queue stops feeding it.
 * Enough to keep a 1 Gbit/s link busy between two 5 ms pumps; small next to a 1 MiB piece.
 */
export const UPLOAD_BACKLOG_BYTES = 64 * 1024;

/** How often a queue with blocked connections looks at them again (the kernel drains without an event). */
const PUMP_INTERVAL_MS = 5;

/** The parts of a node:net socket the queue reads. */
export interface QueueSocket {
  /** bytes handed to libuv (node:net internal, present since Node 0.x) */
  _bytesDispatched?: number;
  /** libuv's bytes not yet accepted by the kernel */
  _handle?: { writeQueueSize?: number } | null;
  destroyed?: boolean;
}

/** The parts of a bittorrent-protocol wire the queue wraps. */
export interface QueueWire {
  destroyed: boolean;
  piece(index: number, offset: number, buffer: Uint8Array): void;
  _push(data: Uint8Array): boolean;
  on(event: 'cancel', listener: (index: number, offset: number, length: number) => void): unknown;
  once(event: 'close', listener: () => void): unknown;
}

interface Conn {
  socket: QueueSocket;
  /** bytes the wire pushed towards the socket since we attached */
  pushed: number;
  /** what the kernel had accepted from the socket when we attached */
  base: number;
  send: (index: number, offset: number, buffer: Uint8Array) => void;
  /** this connection's queued pieces, by piece index */
  groups: Map<number, Group>;
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

/** The TCP socket under a wire (webtorrent keeps it on the swarm's peer object). */
function socketOf(torrent: Torrent, wire: Wire): QueueSocket | undefined {
  const peers = (torrent as unknown as { _peers?: Map<string, { wire?: Wire; conn?: unknown }> })._peers;
  for (const p of peers?.values() ?? []) if (p.wire === wire) return p.conn as QueueSocket | undefined;
  return undefined;
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

  constructor(
    torrent: Torrent | undefined,
    private readonly backlogBytes = UPLOAD_BACKLOG_BYTES,
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
      pushed: 0,
      base: inKernel(socket),
      send: wire.piece.bind(wire),
      groups: new Map(),
    };
    const push = wire._push.bind(wire);
    wire._push = (data: Uint8Array) => {
      c.pushed += data.length;
      return push(data);
    };
    wire.piece = (index: number, offset: number, buffer: Uint8Array) => {
      if (this.stopped || wire.destroyed) return c.send(index, offset, buffer);
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
    return c.pushed - (inKernel(c.socket) - c.base);
  }

  /** Oldest piece first: feeds each queued connection up to the backlog limit. */
  pump(): void {
    if (this.stopped) return;
    let waiting = false;
    for (let k = 0; k < this.groups.length;) {
      const g = this.groups[k]!;
      const c = g.conn;
      if (c.socket.destroyed) g.blocks.length = 0;
      while (g.blocks.length > 0 && this.backlog(c) < this.backlogBytes) {
        const b = g.blocks.shift()!;
        c.send(g.index, b.offset, b.buffer);
      }
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
