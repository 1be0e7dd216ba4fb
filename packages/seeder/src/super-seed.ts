import type { Torrent, Wire } from 'webtorrent';
import type { Logger } from './errors.js';

/**
 * Upload slots of a super-seeding seeder: pieces being sent at once, each to one connection. Few slots
 * make each piece arrive fast, so the machine that got it can pass it on sooner; enough slots keep the
 * link busy between pieces. A slot moves round robin to the next connection when its piece has been
 * sent. With 1 MiB pieces 2 measured best; with the 128 KiB pieces `'auto'` gives a 64 MiB image, 4
 * kept the server's link fuller (2.15 against 2.05 MiB/s of a 20 Mbit/s link; 16 machines done at
 * 34.3–35.0 s against 35.0–35.9 s; 1 slot 40.1 s, 8 slots 35.2 s). docs/performance.md, "## swarm".
 * @default 4
 */
export const DEFAULT_SUPER_SEED_SLOTS = 4;

/**
 * A shown piece on which nothing was sent for this long frees its slot, and the connection gets no
 * new slot until it shows it is alive again (a request, a block sent to it, a HAVE for a piece it was
 * shown): a peer that never asks cannot hold the seeder hostage, and a slow one is not shut out.
 */
export const SUPER_SEED_STALL_MS = 3_000;

/** Sizes of the torrent's pieces. */
export interface PieceLayout {
  count: number;
  length: number;
  lastLength: number;
}

/** One connection as the super-seeder sees it. */
interface Conn {
  wire: Wire;
  started: boolean;
  closed: boolean;
  /** it let a shown piece stall; no new slot until it requests something */
  idle: boolean;
  /** pieces shown and holding a slot: piece → bytes sent, time of the last progress */
  inFlight: Map<number, { sent: number; last: number }>;
  /** 1 = shown on this connection (HAVE or bitfield), ever */
  shown: Uint8Array;
  /** 1 = the peer told us it holds the piece (BITFIELD, HAVE, HAVE ALL) */
  theirs: Uint8Array;
  /** the first bitfield, filled before it is sent */
  bitfield: Uint8Array;
  have: (index: number) => void;
}

/**
 * Super-seeding, in the spirit of BEP 16 (https://www.bittorrent.org/beps/bep_0016.html): the server
 * never shows a peer its whole bitfield, so peers fetch from each other whatever another machine
 * already holds and the server sends each piece about once while pieces nobody holds remain.
 *
 * Policy (measured in docs/performance.md, "## swarm"): at most `slots` pieces are in flight at once.
 * A slot goes round robin to the next connection, preferring one with nothing in flight; it is shown
 * one piece (in its first BITFIELD, later with a HAVE): the piece shown to the fewest connections so
 * far, then held by the fewest peers. The slot is freed when the piece has been sent on that
 * connection, when the peer announces it (it got it elsewhere), when the peer leaves, or when nothing
 * was sent on it for {@link SUPER_SEED_STALL_MS}. Unlike BEP 16, a peer may still request any piece it
 * has been shown, at any time, and once it has been shown every piece it lacks it is served like a
 * normal seed's peer: super-seeding can slow a peer down, never stop it.
 *
 * Works by wrapping webtorrent's `wire.bitfield`, `wire.haveAll` and `wire.piece` on each new wire
 * (before webtorrent sends the first bitfield); requests are still answered by webtorrent.
 */
export class SuperSeeder {
  private readonly given: Uint32Array;
  private readonly holders: Uint32Array;
  /** round robin order of connections that may still be shown a piece */
  private queue: Conn[] = [];
  private readonly conns = new Set<Conn>();
  private readonly byWire = new WeakMap<Wire, Conn>();
  private inFlight = 0;
  private readonly timer: ReturnType<typeof setInterval>;
  /** HAVEs and bitfield bits sent (pieces shown), over all connections */
  shownTotal = 0;
  /** slots freed because the peer did not fetch its piece */
  stalls = 0;

  constructor(
    torrent: Torrent,
    private readonly pieces: PieceLayout,
    private readonly opts: {
      slots: number;
      logger?: Logger | undefined;
      /** a piece was shown to a peer, which will ask for it soon (serve.ts reads it ahead) */
      onShow?: ((index: number) => void) | undefined;
    },
  ) {
    this.given = new Uint32Array(pieces.count);
    this.holders = new Uint32Array(pieces.count);
    torrent.on('wire', (wire: Wire) => {
      if (wire.type !== 'webSeed') this.attach(wire);
    });
    this.timer = setInterval(() => this.checkStalls(), 500);
    this.timer.unref();
  }

  /** Stops the stall timer (the wires die with the client). */
  destroy(): void {
    clearInterval(this.timer);
  }

  private attach(wire: Wire): void {
    const n = this.pieces.count;
    const c: Conn = {
      wire,
      started: false,
      closed: false,
      idle: false,
      inFlight: new Map(),
      shown: new Uint8Array(n),
      theirs: new Uint8Array(n),
      bitfield: new Uint8Array(Math.ceil(n / 8)),
      have: wire.have.bind(wire),
    };
    this.conns.add(c);
    this.byWire.set(wire, c);
    const sendBitfield = wire.bitfield.bind(wire);
    wire.bitfield = () => {
      if (c.started || c.closed) return;
      this.queue.push(c);
      this.schedule(); // fills c.bitfield with the pieces it is shown first
      c.started = true;
      sendBitfield(c.bitfield);
    };
    wire.haveAll = () => wire.bitfield(c.bitfield);
    const sendPiece = wire.piece.bind(wire);
    wire.piece = (index: number, offset: number, buffer: Uint8Array) => {
      sendPiece(index, offset, buffer);
      // It asked for this (maybe before its slot stalled): it is not a peer that never asks.
      this.wake(c);
      const f = c.inFlight.get(index);
      if (!f) return;
      f.sent += buffer.length;
      f.last = Date.now();
      if (f.sent >= (index === n - 1 ? this.pieces.lastLength : this.pieces.length)) this.release(c, index);
    };
    const onHas = (i: number): void => {
      if (i < 0 || i >= n || c.theirs[i]) return;
      c.theirs[i] = 1;
      this.holders[i]!++;
      // A HAVE for a piece it was shown is progress, however late: a slow machine (a VM under TCG, a
      // busy CPU) may verify a piece after its slot stalled, and then has nothing left to request.
      if (c.shown[i]) this.wake(c);
      this.release(c, i);
    };
    wire.on('bitfield', (field: { get(i: number): boolean }) => {
      for (let i = 0; i < n; i++) if (field.get(i)) onHas(i);
    });
    wire.on('have', (i: number) => onHas(i));
    wire.on('have-all', () => {
      for (let i = 0; i < n; i++) onHas(i);
    });
    wire.on('request', () => this.wake(c));
    wire.once('close', () => {
      c.closed = true;
      this.conns.delete(c);
      for (const [i, f] of c.inFlight) if (f.sent === 0) this.given[i]!--;
      this.inFlight -= c.inFlight.size;
      c.inFlight.clear();
      for (let i = 0; i < n; i++) if (c.theirs[i]) this.holders[i]!--;
      this.queue = this.queue.filter((q) => q !== c);
      this.schedule();
    });
  }

  /** The piece to show `c` next: shown to the fewest so far, then held by the fewest; -1 = none left. */
  private pick(c: Conn): number {
    const n = this.pieces.count;
    let best = -1;
    let score = Infinity;
    const start = Math.floor(Math.random() * n);
    for (let k = 0; k < n; k++) {
      const i = (start + k) % n;
      if (c.shown[i] || c.theirs[i]) continue;
      const s = this.given[i]! * 65_536 + this.holders[i]!;
      if (s < score) {
        score = s;
        best = i;
        if (s === 0) break;
      }
    }
    return best;
  }

  /** Hands free slots out round robin: first to connections with nothing in flight. */
  private schedule(): void {
    while (this.inFlight < this.opts.slots) {
      const c =
        this.queue.find((q) => !q.idle && q.inFlight.size === 0) ??
        this.queue.find((q) => !q.idle && q.inFlight.size < this.opts.slots);
      if (!c) return;
      this.queue.splice(this.queue.indexOf(c), 1);
      const i = this.pick(c);
      if (i < 0) continue; // shown everything it lacks: it now fetches what it wants, unqueued
      this.queue.push(c);
      c.shown[i] = 1;
      c.inFlight.set(i, { sent: 0, last: Date.now() });
      this.given[i]!++;
      this.inFlight++;
      this.shownTotal++;
      this.opts.onShow?.(i);
      if (c.started) c.have(i);
      else c.bitfield[i >> 3]! |= 0x80 >> (i & 7);
    }
  }

  /**
   * The peer on `wire` sent a REQUEST that was answered without the wire's 'request' event (serve.ts):
   * a sign of life, as that event is.
   */
  requested(wire: Wire): void {
    const c = this.byWire.get(wire);
    if (c) this.wake(c);
  }

  /** `c` showed it is alive (a request, a block sent to it, a HAVE): it may get slots again. */
  private wake(c: Conn): void {
    if (!c.idle) return;
    c.idle = false;
    this.schedule();
  }

  private release(c: Conn, index: number): void {
    if (!c.inFlight.delete(index)) return;
    this.inFlight--;
    this.schedule();
  }

  private checkStalls(): void {
    const old = Date.now() - SUPER_SEED_STALL_MS;
    for (const c of this.conns)
      for (const [i, f] of c.inFlight) {
        if (f.last > old) continue;
        this.stalls++;
        c.idle = true;
        this.opts.logger?.debug?.('super-seed: peer did not fetch its piece, slot freed', {
          peer: `${c.wire.remoteAddress}:${c.wire.remotePort}`,
          piece: i,
        });
        this.release(c, i);
      }
  }
}
