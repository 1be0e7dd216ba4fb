import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import {
  installPicker,
  MAX_TOTAL_REQUESTS,
  MIN_PIPELINE_PIECES,
  pickOrder,
  type PickTorrent,
} from './picker.js';

const BLOCK = 16 * 1024;

/** A torrent in webtorrent's shape: `pieces` of `blocks` blocks, `_request` reserving as torrent-piece does. */
function fakeTorrent(count: number, blocks: number) {
  const pieces = Array.from({ length: count }, () => ({
    length: blocks * BLOCK,
    missing: blocks * BLOCK,
    _chunks: blocks,
    _reservations: 0,
    _cancellations: [] as number[],
  }));
  const verified = new Set<number>();
  /** looks at our own bitfield: pickOrder makes one per wanted piece */
  let orderLooks = 0;
  const rarity = new Array<number>(count).fill(1);
  const requests: [wire: number, piece: number][] = [];
  const events = new EventEmitter();
  const t = {
    on: events.on.bind(events),
    emit: events.emit.bind(events),
    destroyed: false,
    pieceLength: blocks * BLOCK,
    wires: [] as PickTorrent['wires'],
    pieces: pieces as PickTorrent['pieces'],
    bitfield: { get: (i: number) => (orderLooks++, verified.has(i)) },
    _selections: { length: 1, get: () => ({ from: 0, to: count - 1, offset: 0 }) },
    _rarityMap: { _pieces: rarity },
    fallback: [] as number[],
    _request(wire: PickTorrent['wires'][number], index: number): boolean {
      const p = pieces[index]!;
      if (verified.has(index) || p._reservations >= p._chunks) return false;
      p._reservations++;
      wire.requests.push(index);
      requests.push([t.wires.indexOf(wire), index]);
      return true;
    },
    _updateWire(wire: PickTorrent['wires'][number]): void {
      t.fallback.push(t.wires.indexOf(wire));
    },
    _updateWireWrapper(): void {},
  };
  let gets = 0;
  const addWire = (has: (i: number) => boolean, extra: Partial<PickTorrent['wires'][number]> = {}) =>
    t.wires.push({
      ...wireEvents(),
      destroyed: false,
      type: 'tcpOutgoing',
      peerChoking: false,
      downloaded: 1,
      requests: [],
      peerPieces: { get: (i) => (gets++, has(i)) },
      downloadSpeed: () => 2 * 1024 * 1024, // the LAN floor: 0.5 s = 66 blocks, 1 s = 130
      ...extra,
    });
  return { t, pieces, verified, rarity, requests, addWire, gets: () => gets, orderLooks: () => orderLooks };
}

/** A wire's EventEmitter methods, as own properties (the fake wires are object literals). */
function wireEvents() {
  const e = new EventEmitter();
  return { on: e.on.bind(e), emit: e.emit.bind(e) };
}
type EventWire = PickTorrent['wires'][number] & ReturnType<typeof wireEvents>;

describe('pickOrder', () => {
  it('puts started pieces first (fewest bytes missing first), then the rarest; skips held and fully asked ones', () => {
    const { t, pieces, verified, rarity } = fakeTorrent(6, 4);
    rarity.splice(0, 6, 3, 1, 2, 1, 5, 1);
    verified.add(3);
    pieces[3] = null as never;
    pieces[4]!._reservations = 1; // started: 1 of 4 blocks asked for
    pieces[2]!._reservations = 3;
    pieces[2]!.missing = BLOCK; // started, 3 of 4 blocks in
    pieces[5]!._reservations = 4; // every block asked for
    expect(pickOrder(t as unknown as PickTorrent, () => 0)).toEqual([2, 4, 1, 0]);
  });

  it('orders as a sort by (started: fraction missing; else rarity + a random half) would, for any counts', () => {
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (const n of [1, 5, 300, 5000]) {
      const { t, pieces, verified, rarity } = fakeTorrent(n, 8);
      for (let i = 0; i < n; i++) {
        rarity[i] = rand() < 0.01 ? 3000 + Math.floor(rand() * 9000) : Math.floor(rand() * 20);
        const r = rand();
        const p = pieces[i]!;
        if (r < 0.1) {
          verified.add(i);
          pieces[i] = null as never;
        } else if (r < 0.3) p._reservations = 1 + Math.floor(rand() * 7);
        else if (r < 0.4) {
          p._reservations = 3;
          p.missing = Math.floor(rand() * 8) * BLOCK;
        } else if (r < 0.45) p._reservations = 8; // every block asked for
      }
      // the same random draws, in the same order, for both
      const draws: number[] = [];
      const got = pickOrder(t as unknown as PickTorrent, () => (draws.push(rand()), draws.at(-1)!));
      const key = new Map<number, number>();
      let d = 0;
      for (let i = 0; i < n; i++) {
        const p = pieces[i];
        if (!p || verified.has(i) || p._reservations >= p._chunks) continue;
        const started = p._reservations > 0 || p.missing < p.length;
        key.set(
          i,
          started ? -1 - (p.length - p.missing) / p.length : Math.min(rarity[i]!, 2045) + draws[d++]! * 0.5,
        );
      }
      const want = [...key.keys()].sort((a, b) => key.get(a)! - key.get(b)! || a - b);
      expect(got).toEqual(want);
    }
  });

  it('breaks ties in rarity at random', () => {
    const { t } = fakeTorrent(50, 1);
    const a = pickOrder(t as unknown as PickTorrent);
    const b = pickOrder(t as unknown as PickTorrent);
    expect(a.slice().sort((x, y) => x - y)).toEqual([...Array(50).keys()]);
    expect(a).not.toEqual(b);
  });
});

describe('installPicker', () => {
  it('fills each wire from pieces it holds, rarest first, in work linear in wires × pieces', () => {
    const n = 256;
    const { t, rarity, requests, addWire, gets } = fakeTorrent(n, 16);
    for (let i = 0; i < n; i++) rarity[i] = 2 + (i % 7);
    rarity[200] = 1;
    for (let w = 0; w < 16; w++) addWire((i) => i === 200 || i % 16 !== w); // each lacks a sixteenth
    installPicker(t as never);
    t._updateWireWrapper();
    // every wire got its 1 s pipeline (130 blocks) cut to an equal share of MAX_TOTAL_REQUESTS (32),
    // only pieces it holds, no block asked twice
    const share = Math.min(130, Math.ceil(MAX_TOTAL_REQUESTS / 16));
    const perWire = new Map<number, number[]>();
    for (const [w, p] of requests) perWire.set(w, [...(perWire.get(w) ?? []), p]);
    expect([...perWire.values()].map((ps) => ps.length)).toEqual(new Array(16).fill(share));
    for (const [w, ps] of perWire) expect(ps.every((p) => p === 200 || p % 16 !== w)).toBe(true);
    expect(requests.length).toBe(16 * share);
    // the rarest piece went first to whichever wire was served first
    expect(requests[0]![1]).toBe(200);
    // at most one look per piece per wire (webtorrent's own scan is per piece tried, squared)
    expect(gets()).toBeLessThanOrEqual(16 * n);
  });

  it('keeps at most MAX_PIPELINE_REQUESTS per connection and MAX_TOTAL_REQUESTS over all of them', () => {
    const gigabit = { downloadSpeed: () => 125_000_000 }; // 1 s = 7631 blocks
    const one = fakeTorrent(512, 128);
    one.addWire(() => true, gigabit);
    installPicker(one.t as never);
    one.t._updateWireWrapper();
    expect(one.requests.length).toBe(512); // 8 MiB
    const four = fakeTorrent(512, 128);
    for (let w = 0; w < 4; w++) four.addWire(() => true, gigabit);
    installPicker(four.t as never);
    four.t._updateWireWrapper();
    expect(four.requests.length).toBe(MAX_TOTAL_REQUESTS); // 8 MiB, 2 MiB each
    expect(new Set(four.requests.map(([w]) => w)).size).toBe(4);
  });

  it('leaves choked wires, web seeds and wires without a block yet to webtorrent; skips wires with a full pipeline', () => {
    const { t, requests, addWire } = fakeTorrent(8, 4);
    addWire(() => true, { peerChoking: true });
    addWire(() => true, { type: 'webSeed' });
    addWire(() => true, { downloaded: 0 });
    addWire(() => true, { requests: new Array(100).fill(0) }); // covers more than 0.5 s
    addWire(() => true);
    installPicker(t as never);
    t._updateWireWrapper();
    expect(t.fallback.sort()).toEqual([0, 1, 2]);
    expect(new Set(requests.map(([w]) => w))).toEqual(new Set([4]));
    expect(requests.length).toBe(32); // every block of the 8 pieces, all to wire 4
  });

  it('answers a HAVE at once on a wire with room, without waiting for the throttled update', () => {
    const { t, pieces, verified, requests, addWire } = fakeTorrent(8, 4);
    const held = [new Set<number>(), new Set<number>(), new Set<number>()];
    addWire((i) => held[0]!.has(i));
    addWire((i) => held[1]!.has(i), { requests: new Array(100).fill(0) }); // covers more than 0.5 s
    addWire((i) => held[2]!.has(i), { peerChoking: true });
    installPicker(t as never);
    const wires = t.wires as EventWire[];
    for (const w of wires) t.emit('wire', w);
    const have = (w: number, i: number): void => {
      held[w]!.add(i);
      wires[w]!.emit('have', i);
    };
    have(0, 5);
    expect(requests).toEqual([
      [0, 5],
      [0, 5],
      [0, 5],
      [0, 5],
    ]); // every block of it, no update ran
    have(1, 6); // no room: left to the next update
    have(2, 6); // choked: webtorrent's code asks (allowed fast), not this
    verified.add(3);
    pieces[3] = null as never;
    have(0, 3); // held already
    have(0, 5); // every block asked for already
    expect(requests.length).toBe(4);
  });

  it('keeps a slow connection to the whole pieces its measured rate carries in a second, at least one', () => {
    // 128 KiB pieces; three wires whose rates are ~1/15 of 20 Mbit/s, 1 MB/s, and not measured yet
    const { t, requests, addWire } = fakeTorrent(64, 8);
    addWire(() => true);
    addWire(() => true);
    addWire(() => true);
    const rates = [150_000, 1_000_000, undefined];
    installPicker(t as never, { rate: (w) => rates[t.wires.indexOf(w as never)] });
    const wires = t.wires as EventWire[];
    for (const w of wires) t.emit('wire', w);
    t._updateWireWrapper();
    const count = (w: number): number => requests.filter(([x]) => x === w).length;
    expect(MIN_PIPELINE_PIECES).toBe(1);
    expect(count(0)).toBe(8); // one piece: 150 KB/s carries less than two in a second
    expect(count(1)).toBe(7 * 8); // floor(1 MB/s ÷ 128 KiB) = 7 pieces
    expect(count(2)).toBe(130); // not measured: its 1 s pipeline at the LAN floor, as before
    // a HAVE adds nothing while its piece is in flight
    const free = [...Array(64).keys()].find((i) => !requests.some(([, p]) => p === i))!;
    wires[0]!.emit('have', free);
    expect(count(0)).toBe(8);
  });

  it('computes no order in an update where every wire is at its cap', () => {
    // 16 wires at the LAN floor: each below its 0.5 s top-up mark (66 blocks) but at its share (32)
    const { t, requests, addWire, orderLooks } = fakeTorrent(256, 16);
    for (let w = 0; w < 16; w++) addWire(() => true);
    installPicker(t as never);
    t._updateWireWrapper();
    expect(requests.length).toBe(MAX_TOTAL_REQUESTS);
    const before = orderLooks();
    expect(before).toBeGreaterThan(0); // the first update did order the pieces
    t._updateWireWrapper();
    expect(orderLooks()).toBe(before);
    expect(requests.length).toBe(MAX_TOTAL_REQUESTS);
    // one wire with room again: the order is computed once for it
    (t.wires[3]!.requests as number[]).length = 0;
    t._updateWireWrapper();
    expect(orderLooks()).toBeGreaterThan(before);
    expect(requests.length).toBe(MAX_TOTAL_REQUESTS + 32);
  });
});
