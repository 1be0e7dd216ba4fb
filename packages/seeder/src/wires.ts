import { networkInterfaces } from 'node:os';
import type { Torrent, Wire } from 'webtorrent';
import { isServerPeerId } from './client.js';
import { isBootTorrentPeerId } from './peer-id.js';
import type { Logger } from './errors.js';
import { PexSender } from './pex.js';

/** Bytes a peer moved, as one side of a swarm sees them. */
export interface PeerBytes {
  /** "ip:port" as seen on the connection */
  id: string;
  /** the remote's BitTorrent peer id (hex), when it was sent */
  peerId?: string;
  /** "server" = the server's seeder, "peer" = another machine, "webseed" = BEP 19 HTTP */
  kind: 'server' | 'peer' | 'webseed';
  uploaded: number;
  downloaded: number;
  connected: boolean;
}

/**
 * LAN pipelining floor: webtorrent sizes a wire's request queue from its measured speed, starting at 2
 * blocks, which makes every new connection slow-start. On a LAN every peer is a friend, so each wire is
 * treated as at least this fast: 2 + 0.5 s × 2 MiB/s / 16 KiB = 66 requests in flight at once.
 */
export const LAN_MIN_PIPELINE_SPEED = 2 * 1024 * 1024;

/** Each floored wire's own download meter (bittorrent-protocol's) and when WireTracker took it. */
const meters = new WeakMap<object, { rate: () => number; since: number }>();

/**
 * A wire's download rate as its meter measures it, without the LAN floor, in bytes/s. Undefined for a
 * wire {@link WireTracker} does not floor, and during the wire's first second: before that the meter
 * (the `throughput` package) returns the bytes received so far, not a rate.
 */
export function measuredSpeed(wire: object, now = performance.now()): number | undefined {
  const m = meters.get(wire);
  if (!m || now - m.since < 1000) return undefined;
  return m.rate();
}

/** Hash failures a peer may contribute to before it is banned (1 if it alone sent the piece). */
export const MAX_HASH_FAILS = 2;

export interface WireTrackerOptions {
  serverPeers?: string[] | undefined;
  lanTuning: boolean;
  logger?: Logger | undefined;
  onBytes?: () => void;
  /** our own listening port, to drop ourselves from tracker/PEX peer lists */
  selfPort: () => number;
  /** our own peer id (hex): with it, a second connection to an already connected peer is dropped */
  selfPeerId?: () => string;
}

const isOutgoing = (w: Wire): boolean => w.type === 'tcpOutgoing' || w.type === 'utpOutgoing';

/** Addresses of this machine: trackers hand a peer its own address back, which we skip. */
function localHosts(): Set<string> {
  const set = new Set(['127.0.0.1', '::1', 'localhost', '0.0.0.0']);
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) set.add(normalizeHost(a.address));
  return set;
}

function normalizeHost(h: string): string {
  const s = h.startsWith('[') ? h.slice(1, h.indexOf(']')) : h;
  return s.startsWith('::ffff:') ? s.slice(7) : s;
}

function parseHostPort(s: string): { host: string; port?: number } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(s) ?? /^([^:]+)(?::(\d+))?$/.exec(s);
  if (!m?.[1]) return { host: normalizeHost(s) };
  return m[2] ? { host: normalizeHost(m[1]), port: Number(m[2]) } : { host: normalizeHost(m[1]) };
}

/**
 * True when `addr` ("ip:port" from the tracker or PEX) belongs to a machine this torrent already has a
 * connection with: a live wire from the same address whose peer id is BootTorrent's (one agent or
 * seeder per machine). Such an address is not dialled. Why: PEX hands every machine every address at
 * once, so every pair dialled each other and one of the two connections was closed after its
 * handshake (tools/bench/swarm/NOTES.md, session 12: 32 connections per machine for 16 peers at
 * N = 16, 15–16 closed again), while 17 processes starting together on the benchmark's 2 cores had
 * CPU for none of it. Loopback and this machine's own addresses are left out (several peers there
 * share one address), and so is anyone else's client: its connection may be from another port.
 */
export function connectedMachine(
  addr: string,
  wires: readonly { destroyed: boolean; type: string; remoteAddress?: string; peerId?: string }[],
  self: ReadonlySet<string>,
): boolean {
  const { host } = parseHostPort(addr);
  if (self.has(host) || host.startsWith('127.') || host === '::1') return false;
  for (const w of wires) {
    if (w.destroyed || w.type === 'webSeed' || !w.remoteAddress) continue;
    if (normalizeHost(w.remoteAddress) === host && isBootTorrentPeerId(w.peerId)) return true;
  }
  return false;
}

/**
 * Watches a torrent's wires: splits bytes by source (server / peer / web seed), keeps per-peer totals
 * after disconnects, tunes each wire for a LAN, and bans peers whose blocks fail piece verification
 * (webtorrent discards a bad piece and refetches it, but keeps asking the same liar).
 */
export class WireTracker {
  readonly peers = new Map<string, PeerBytes>();
  fromServer = 0;
  fromPeers = 0;
  fromWebSeed = 0;
  uploaded = 0;
  hashFails = 0;
  readonly banned = new Set<string>();
  private readonly servers: { host: string; port?: number }[];
  private readonly contributors = new Map<number, Set<Wire>>();
  private readonly strikes = new WeakMap<Wire, number>();
  private readonly pex: PexSender;
  /** the one live connection per remote peer id */
  private readonly byPeerId = new Map<string, Wire>();
  /** dialled addresses whose peer was already connected: not redialled while that connection lives */
  private readonly noRedial = new Map<string, string>();
  /** duplicate connections closed (the same peer id twice on this torrent) */
  duplicatesDropped = 0;
  /** addresses not dialled because their machine was already connected (see connectedMachine) */
  dialsSkipped = 0;

  constructor(
    private readonly torrent: Torrent,
    private readonly opts: WireTrackerOptions,
  ) {
    this.servers = (opts.serverPeers ?? []).map(parseHostPort);
    this.pex = new PexSender(torrent);
    const self = localHosts();
    const addPeer = torrent.addPeer.bind(torrent);
    torrent.addPeer = (addr: string): boolean => {
      if (typeof addr === 'string') {
        if (this.banned.has(addr)) return false;
        const { host, port } = parseHostPort(addr);
        if (port === opts.selfPort() && self.has(host)) return false;
      }
      const added = addPeer(addr);
      if (added && typeof addr === 'string')
        this.pex.note(
          normalizeHost(addr.slice(0, addr.lastIndexOf(':'))) + addr.slice(addr.lastIndexOf(':')),
        );
      return added;
    };
    // webtorrent redials a closed outgoing connection (1 s, 5 s, 15 s, and again after each handshake):
    // not while the same peer is connected the other way. Nor is an address dialled whose machine is
    // already connected (see connectedMachine).
    const t = torrent as unknown as { _addPeer(addr: unknown, type: string, source: string): unknown };
    const rawAddPeer = t._addPeer.bind(t);
    t._addPeer = (addr, type, source) => {
      const pid = typeof addr === 'string' ? this.noRedial.get(addr) : undefined;
      if (pid && this.byPeerId.has(pid)) return null;
      if (typeof addr === 'string' && connectedMachine(addr, torrent.wires, self)) {
        this.dialsSkipped++;
        opts.logger?.debug?.('not dialled: that machine is connected already', { peer: addr });
        return null;
      }
      return rawAddPeer(addr, type, source);
    };
    torrent.on('wire', (wire: Wire) => this.onWire(wire));
    torrent.on('verified', (index: number) => this.contributors.delete(index));
    torrent.on('warning', (err: unknown) => this.onWarning(err));
  }

  private kindOf(wire: Wire): PeerBytes['kind'] {
    if (wire.type === 'webSeed') return 'webseed';
    const host = normalizeHost(wire.remoteAddress ?? '');
    for (const s of this.servers) {
      if (s.host !== host) continue;
      if (s.port === undefined || s.port === wire.remotePort || isServerPeerId(wire.peerId)) return 'server';
    }
    return 'peer';
  }

  private onWire(wire: Wire): void {
    if (wire.peerId && this.banned.has(wire.peerId)) {
      wire.destroy();
      return;
    }
    if (this.isDuplicate(wire)) return;
    if (this.opts.lanTuning && wire.type !== 'webSeed') {
      // bittorrent-protocol feeds the meter through the same function (`downloadSpeed(bytes)` per
      // block): pass the bytes on, or the measured speed stays 0 and every wire is held at the floor
      const measured = wire.downloadSpeed.bind(wire) as (delta?: number) => number;
      meters.set(wire, { rate: () => measured(), since: performance.now() });
      wire.downloadSpeed = ((delta?: number) =>
        Math.max(measured(delta), LAN_MIN_PIPELINE_SPEED)) as typeof wire.downloadSpeed;
    }
    const id =
      wire.type === 'webSeed'
        ? String(wire.remoteAddress ?? 'webseed')
        : `${wire.remoteAddress}:${wire.remotePort}`;
    const entry: PeerBytes = this.peers.get(id) ?? {
      id,
      kind: this.kindOf(wire),
      uploaded: 0,
      downloaded: 0,
      connected: true,
    };
    if (wire.peerId) entry.peerId = wire.peerId;
    entry.connected = true;
    this.peers.set(id, entry);
    wire.on('download', (n: number) => {
      entry.downloaded += n;
      if (entry.kind === 'server') this.fromServer += n;
      else if (entry.kind === 'webseed') this.fromWebSeed += n;
      else this.fromPeers += n;
      this.opts.onBytes?.();
    });
    wire.on('upload', (n: number) => {
      entry.uploaded += n;
      this.uploaded += n;
      this.opts.onBytes?.();
    });
    wire.on('piece', (index: number) => {
      let set = this.contributors.get(index);
      if (!set) this.contributors.set(index, (set = new Set()));
      set.add(wire);
    });
    wire.once('close', () => {
      entry.connected = false;
    });
  }

  /**
   * One connection per pair of machines: the tracker, PEX and `serverPeers` make both ends dial each
   * other, doubling request pipelines, rarity counts and CPU. When a handshake carries a peer id that
   * already has a connection on this torrent, the one dialled by the lower peer id is kept (both ends
   * pick the same one) and the other is closed. True if `wire` itself is the one dropped.
   */
  private isDuplicate(wire: Wire): boolean {
    const self = this.opts.selfPeerId?.();
    const pid = wire.peerId;
    if (!self || !pid || wire.type === 'webSeed') return false;
    const other = this.byPeerId.get(pid);
    const track = (w: Wire): void => {
      this.byPeerId.set(pid, w);
      w.once('close', () => {
        if (this.byPeerId.get(pid) === w) this.byPeerId.delete(pid);
      });
    };
    if (!other || other.destroyed) {
      track(wire);
      return false;
    }
    // Same direction twice (two addresses of one machine): keep the older one.
    const dropNew = isOutgoing(wire) === isOutgoing(other) || isOutgoing(wire) !== self < pid;
    const loser = dropNew ? wire : other;
    if (!dropNew) track(wire);
    if (isOutgoing(loser)) this.noRedial.set(`${loser.remoteAddress}:${loser.remotePort}`, pid);
    this.duplicatesDropped++;
    this.opts.logger?.debug?.('closed a second connection to a connected peer', {
      peer: `${loser.remoteAddress}:${loser.remotePort}`,
      peerId: pid,
    });
    // after webtorrent's own 'wire' handling (it answers the handshake right after this event)
    setImmediate(() => loser.destroy());
    return dropNew;
  }

  private onWarning(err: unknown): void {
    const m = /Piece (\d+) failed verification/.exec(String((err as Error)?.message ?? err));
    if (!m) {
      this.opts.logger?.debug?.('swarm warning', { warning: String(err) });
      return;
    }
    const index = Number(m[1]);
    this.hashFails++;
    const wires = [...(this.contributors.get(index) ?? [])].filter((w) => !w.destroyed || !this.isBanned(w));
    this.contributors.delete(index);
    this.opts.logger?.warn?.('piece failed verification, refetching', {
      index,
      from: wires.map((w) => w.remoteAddress + ':' + w.remotePort),
    });
    for (const wire of wires) {
      const strikes = (this.strikes.get(wire) ?? 0) + 1;
      this.strikes.set(wire, strikes);
      if (wires.length === 1 || strikes >= MAX_HASH_FAILS) this.ban(wire);
    }
  }

  private ban(wire: Wire): void {
    const id = `${wire.remoteAddress}:${wire.remotePort}`;
    if (wire.peerId) this.banned.add(wire.peerId);
    this.banned.add(id);
    this.opts.logger?.warn?.('banned a peer that sent corrupt data', { peer: id, peerId: wire.peerId });
    // Its blocks also sit in other, not yet complete pieces: drop those pieces whole (as webtorrent does
    // for a failed piece), or they would fail later and put the blame on the honest peers that finish them.
    const pieces = (this.torrent as unknown as { pieces: ({ length: number } | null)[] }).pieces;
    for (const [index, set] of this.contributors) {
      if (!set.has(wire)) continue;
      const piece = pieces[index];
      if (piece)
        pieces[index] = new (piece.constructor as new (length: number) => { length: number })(piece.length);
      this.contributors.delete(index);
    }
    wire.destroy();
    if (!this.torrent.destroyed) this.torrent.removePeer(id);
  }

  /** Bytes of verified pieces only (webtorrent's `downloaded` also counts unverified blocks). */
  verifiedBytes(): number {
    const t = this.torrent as unknown as {
      bitfield?: { get(i: number): boolean };
      pieces: unknown[];
      lastPieceLength: number;
    };
    if (!t.bitfield) return 0;
    let sum = 0;
    const n = t.pieces.length;
    for (let i = 0; i < n; i++)
      if (t.bitfield.get(i)) sum += i === n - 1 ? t.lastPieceLength : this.torrent.pieceLength;
    return sum;
  }

  private isBanned(w: Wire): boolean {
    return (!!w.peerId && this.banned.has(w.peerId)) || this.banned.has(`${w.remoteAddress}:${w.remotePort}`);
  }

  /** Snapshot of every peer ever seen on this torrent. */
  list(): PeerBytes[] {
    return [...this.peers.values()].map((p) => ({ ...p }));
  }
}
