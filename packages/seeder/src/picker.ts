import type { Torrent } from 'webtorrent';
import { blocksInFlight, requestSpan, spansFor, type SpanTorrent, type SpanWire } from './span-request.js';
import { measuredSpeed } from './wires.js';

/** BitTorrent's request unit (BEP 3 practice; webtorrent's `Piece.BLOCK_LENGTH`). */
const BLOCK_LENGTH = 16 * 1024;
/** webtorrent tops a connection's requests up when they cover less than this much of its speed… */
const PIPELINE_MIN_SECONDS = 0.5;
/** …to this much (webtorrent's PIPELINE_MIN_DURATION / PIPELINE_MAX_DURATION). */
const PIPELINE_MAX_SECONDS = 1;

/** The parts of a webtorrent piece (torrent-piece) the picker reads. */
interface PieceState {
  length: number;
  missing: number;
  _chunks: number;
  _reservations: number;
  _cancellations: number[] | null;
}

/** The parts of a webtorrent wire the picker reads. */
interface PickWire {
  destroyed: boolean;
  type: string;
  peerChoking: boolean;
  downloaded: number;
  requests: unknown[];
  peerPieces: { get(i: number): boolean };
  downloadSpeed(): number;
}

/** The parts of a webtorrent torrent the picker reads and replaces. */
export interface PickTorrent {
  destroyed: boolean;
  pieceLength: number;
  wires: PickWire[];
  /** null once a piece is verified */
  pieces: (PieceState | null)[];
  bitfield: { get(i: number): boolean };
  _selections: { length: number; get(i: number): { from: number; to: number; offset: number } };
  _rarityMap: { _pieces: ArrayLike<number> };
  _request(wire: PickWire, index: number, hotswap: boolean): boolean;
  _updateWire(wire: PickWire): void;
  _updateWireWrapper(): void;
}

/**
 * The most requests one connection keeps in flight: 8 MiB, 67 ms at 1 Gbit/s, far above a LAN's
 * round trip plus the sender's queue. webtorrent's formula (1 s of the measured speed) put 60 MiB in
 * flight per connection at 1 Gbit/s: 30 pieces of 2 MiB being assembled at once, each a buffer of its
 * own. At 20 Mbit/s (2.5 MB/s, ~150 requests) the cap never applies.
 * @default 512
 */
export const MAX_PIPELINE_REQUESTS = 512;

/**
 * The most requests a machine keeps in flight over all its connections, shared equally among them:
 * 8 MiB, 67 ms at 1 Gbit/s. Each block in flight belongs to a piece being assembled in memory: a
 * downloader with 4 peers at 1 Gbit/s had 4 × 8 MiB requested, 16-20 pieces of 2 MiB at once (peak RSS
 * 163 MiB against a goal of 150), and with 16 MiB (the default until session 11), once the server's
 * super-seeding kept pace, 40-55 MiB of buffers and 4-9 mark-compacts per client at N = 4 (peak RSS
 * 131-154 MiB, 2.1-2.6 CPU-s; with 8 MiB 26-32 MiB, 1-3, 114-122 MiB and 1.9-2.0 CPU-s:
 * tools/bench/swarm/NOTES.md, session 11). With 16 connections each keeps 32 requests (0.5 MiB).
 * @default 512
 */
export const MAX_TOTAL_REQUESTS = 512;

/**
 * The most one connection keeps requested once its rate is measured: the whole pieces this many
 * seconds of that rate carry, but at least {@link MIN_PIPELINE_PIECES}. A peer answers each connection's requests in
 * the order they came (upload-queue.ts), so on a slow connection every request waits behind the ones
 * asked before it. When 16 machines on 20 Mbit/s links swap 128 KiB pieces, a connection carries
 * ~1/15 of a link (~150 KB/s) and the equal share of {@link MAX_TOTAL_REQUESTS} kept 32 requests
 * (4 pieces, ~3.5 s) on each: the last pieces of a machine waited behind them, and the last machine
 * finished 1.6–2.0 s after the server's last piece (31.4–32.0 s). With one piece per connection
 * 0.2–1.2 s after it, and the room done in 31.0–31.6 s (tools/bench/swarm/NOTES.md, session 13). At
 * 1 Gbit/s a connection's second is many pieces, and the caps above bind instead.
 * @default 1
 */
export const PIPELINE_DEPTH_SECONDS = 1;

/** See {@link PIPELINE_DEPTH_SECONDS}. @default 1 */
export const MIN_PIPELINE_PIECES = 1;

/** Requests a wire should have in flight to cover `seconds` of its speed (webtorrent's formula), capped. */
function pipeline(wire: PickWire, seconds: number): number {
  return Math.min(MAX_PIPELINE_REQUESTS, Math.ceil(2 + (seconds * wire.downloadSpeed()) / BLOCK_LENGTH));
}

/** True while a piece still has a block nobody has been asked for. */
function reservable(p: PieceState): boolean {
  return p._reservations < p._chunks || (p._cancellations?.length ?? 0) > 0;
}

/** Ranks at or above this sort as one (a piece held by 2045 peers or more); see {@link pickOrder}. */
const RANK_LIMIT = 2048;

/**
 * The wanted pieces in the order to ask for them: pieces already started first (fewest bytes missing
 * first: a piece can be passed on only once it is whole), then the rarest among the peers, ties in
 * random order. Only pieces with a block still unrequested.
 *
 * Each piece's rank and index are packed into one integer of a Float64Array (rank in the high bits,
 * index in the low ones, exact below 2^52), sorted by the engine's native numeric sort: a comparator
 * function called ~n log n times was 4 % of all CPU in the 16-machine swarm, where it runs up to
 * 50 times a second per machine (tools/bench/swarm/NOTES.md, session 14).
 */
export function pickOrder(t: PickTorrent, random: () => number = Math.random): number[] {
  const n = t.pieces.length;
  // the index's bits: the next power of two ≥ n; the rank's resolution: what is left of 2^52
  const span = 2 ** Math.ceil(Math.log2(Math.max(2, n)));
  const steps = 2 ** 52 / span / RANK_LIMIT;
  const seen = new Uint8Array(n);
  const packed = new Float64Array(n);
  const avail = t._rarityMap._pieces;
  let count = 0;
  for (let s = 0; s < t._selections.length; s++) {
    const sel = t._selections.get(s);
    for (let i = sel.from + sel.offset; i <= sel.to; i++) {
      const p = t.pieces[i];
      if (seen[i] || !p || t.bitfield.get(i) || !reservable(p)) continue;
      seen[i] = 1;
      const started = p._reservations > 0 || p.missing < p.length;
      // started pieces rank in [0, 1], below every fresh one; rarity next; the fraction breaks ties
      const rank = started
        ? p.missing / p.length
        : Math.min(RANK_LIMIT - 3, avail[i] ?? 0) + 2 + random() * 0.5;
      packed[count++] = Math.floor(rank * steps) * span + i;
    }
  }
  const sorted = packed.subarray(0, count).sort();
  const order = new Array<number>(count);
  for (let k = 0; k < count; k++) order[k] = sorted[k]! % span;
  return order;
}

/**
 * Replaces webtorrent's request scheduler for the torrent's TCP wires with one that costs
 * O(pieces · log pieces) per update plus O(pieces) per wire.
 *
 * Why. webtorrent's `_updateWire` with the rarest-first strategy finds each piece with a full scan of
 * the rarity map (a closure call per piece and a fresh candidates array), and scans again for every
 * piece it could not use (fully requested, or not held by that peer): O(pieces²) per wire per update,
 * and the update runs for every wire. At 16 machines, 256 KiB pieces (256 of them) made the clients
 * CPU-bound (docs/performance.md, "## swarm"). Here the order is computed once per update and each
 * wire walks it once.
 *
 * What is kept: a wire is topped up only when its requests cover under 0.5 s of its speed, then to
 * 1 s; choked wires, web seeds and wires that have not yet sent a block go through webtorrent's own
 * code (allowed-fast, web seed ranges, the one-block probe). What is dropped: hotswap and the speed
 * ranker, which only act on wires slower than 48 KiB/s, and {@link WireTracker}'s LAN floor makes every
 * wire at least 2 MiB/s.
 */
export function installPicker(
  torrent: Torrent,
  opts: {
    /** a wire's measured download rate in bytes/s, undefined while unknown (a seam for tests) */
    rate?: (wire: PickWire) => number | undefined;
  } = {},
): void {
  const t = torrent as unknown as PickTorrent;
  const rate = opts.rate ?? measuredSpeed;
  const perPiece = Math.ceil(t.pieceLength / BLOCK_LENGTH);
  /** the blocks `wire` may keep requested: its pipeline, its share, and whole pieces for its rate */
  const most = (wire: PickWire, each: number): number => {
    const r = rate(wire);
    const pieces =
      r === undefined
        ? Infinity
        : Math.max(MIN_PIPELINE_PIECES, Math.floor((PIPELINE_DEPTH_SECONDS * r) / t.pieceLength));
    return Math.min(pipeline(wire, PIPELINE_MAX_SECONDS), each, pieces * perPiece);
  };
  const original = t._updateWire.bind(t);
  /** True for a wire this scheduler fills (the others go through webtorrent's `_updateWire`). */
  const ours = (w: PickWire): boolean =>
    !w.destroyed && w.type !== 'webSeed' && !w.peerChoking && !!w.downloaded;
  /** an equal share of MAX_TOTAL_REQUESTS for each connection this scheduler fills */
  const share = (): number => {
    let active = 0;
    for (const w of t.wires) if (ours(w)) active++;
    return Math.ceil(MAX_TOTAL_REQUESTS / Math.max(1, active));
  };
  /**
   * Asks `wire` for blocks of piece `i` (if it has room below its pipeline's top-up mark); the blocks
   * requested now in flight on it, or -1 if it had no room.
   */
  const fill = (wire: PickWire, i: number, max: number, blocks: number, spans: number): number => {
    if (spans > 0) {
      let n: number;
      while (
        blocks < max &&
        (n = requestSpan(
          t as unknown as SpanTorrent,
          wire as unknown as SpanWire,
          i,
          Math.min(spans, max - blocks),
        )) > 0
      )
        blocks += n;
      return blocks;
    }
    while (wire.requests.length < max && t._request(wire, i, false)) blocks = wire.requests.length;
    return blocks;
  };
  t._updateWireWrapper = () => {
    if (t.destroyed) return;
    let order: number[] | undefined;
    const wires = t.wires.slice();
    for (let k = wires.length - 1; k > 0; k--) {
      const j = Math.floor(Math.random() * (k + 1));
      [wires[k], wires[j]] = [wires[j]!, wires[k]!];
    }
    const each = share();
    for (const wire of wires) {
      if (wire.destroyed) continue;
      if (!ours(wire)) {
        original(wire);
        continue;
      }
      // a BootTorrent peer on the direct path is asked for up to 128 KiB or a whole piece per request
      // (span-request.ts)
      const spans = spansFor(wire as unknown as SpanWire);
      let blocks = spans > 0 ? blocksInFlight(wire as unknown as SpanWire) : wire.requests.length;
      if (blocks >= pipeline(wire, PIPELINE_MIN_SECONDS)) continue;
      const max = most(wire, each);
      // at its cap already (a share or a second of pieces is often below the top-up mark): the walk
      // below would ask for nothing, so the order is not computed for it
      if (blocks >= max) continue;
      order ??= pickOrder(t);
      for (let k = 0; k < order.length && blocks < max; k++) {
        const i = order[k]!;
        if (i < 0 || !wire.peerPieces.get(i)) continue;
        blocks = fill(wire, i, max, blocks, spans);
        const p = t.pieces[i];
        if (!p || !reservable(p)) order[k] = -1; // every block asked for: skip it for the next wires
      }
    }
  };
  // A HAVE is answered at once when the wire has room: the update that would ask for the piece is
  // throttled (UPDATE_INTERVAL_MS), and a super-seeding server shows each connection only a few pieces
  // at a time, one HAVE per piece sent, so every one of those waits was a slot left idle.
  torrent.on('wire', (w: unknown) => {
    const wire = w as PickWire & { on(ev: 'have', fn: (i: number) => void): void };
    if (wire.type === 'webSeed') return;
    wire.on('have', (i: number) => {
      if (t.destroyed || !ours(wire)) return;
      const p = t.pieces[i];
      if (!p || t.bitfield.get(i) || !reservable(p)) return;
      const spans = spansFor(wire as unknown as SpanWire);
      const blocks = spans > 0 ? blocksInFlight(wire as unknown as SpanWire) : wire.requests.length;
      if (blocks >= pipeline(wire, PIPELINE_MIN_SECONDS)) return;
      fill(wire, i, most(wire, share()), blocks, spans);
    });
  });
}
