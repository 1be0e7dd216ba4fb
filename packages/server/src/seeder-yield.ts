/**
 * The server's seeder gives way to phase-1 on the server's own link. While the server sends what
 * only it may send (boot loader files through the loader gate, its runtime copies) or machines queue
 * for them, its seeder is capped at `share` of the fastest the link was seen to carry (phase-1 plus
 * seeder, best 1 s sample of the last 10 s), never below `floorBps`; the cap is lifted once phase-1
 * has been idle for `idleMs`. Machines in phase-1 cannot fetch an OS yet, while OS bytes can come
 * from peers later: every OS byte the seeder sends during the storm delays the last machine's
 * phase-1. Pure: the clock, the byte counters and the cap setter are injected.
 */

/** Share of the link the seeder keeps while phase-1 is sent. @default 0.1 */
export const DEFAULT_SEEDER_SHARE = 0.1;
/** The cap never goes below this (the swarm's first pieces still move). @default 256 KiB/s */
export const SEEDER_YIELD_FLOOR_BPS = 256 * 1024;
/** Phase-1 idle this long lifts the cap (the loader gate hands over between machines in between). @default 1000 */
export const SEEDER_YIELD_IDLE_MS = 1000;
/** How often {@link SeederYield.tick} is meant to run. @default 250 */
export const SEEDER_YIELD_TICK_MS = 250;
const WINDOW_MS = 10_000;

/** Options of {@link SeederYield}. */
export interface SeederYieldOptions {
  /** 0 < share ≤ 1; 1 never caps. @default DEFAULT_SEEDER_SHARE */
  share?: number;
  /** @default SEEDER_YIELD_FLOOR_BPS */
  floorBps?: number;
  /** @default SEEDER_YIELD_IDLE_MS */
  idleMs?: number;
  /** Phase-1 files in flight from the server or queued for it. */
  phase1Busy(): boolean;
  /** Bytes sent so far: phase-1 (live, in-flight responses included) and the seeder's uploads. */
  sent(): { phase1: number; seeder: number };
  /** Caps the seeder (bytes/s), or lifts the cap (undefined). */
  setLimit(bytesPerSecond: number | undefined): void;
  /** ms clock. @default Date.now */
  now?: () => number;
}

/** What changed at a tick, for an event: the cap set, or lifted. */
export type SeederYieldChange = { kind: 'capped'; bytesPerSecond: number } | { kind: 'lifted' };

export class SeederYield {
  readonly share: number;
  readonly #floor: number;
  readonly #idleMs: number;
  readonly #o: SeederYieldOptions;
  readonly #now: () => number;
  /** 1 s samples of the link's rate: [end time, bytes/s]. */
  #samples: [number, number][] = [];
  #sampleStart: number;
  #sampleBytes: number;
  #lastBusy = -Infinity;
  #cap: number | undefined;

  constructor(o: SeederYieldOptions) {
    this.share = o.share ?? DEFAULT_SEEDER_SHARE;
    if (!(this.share > 0 && this.share <= 1))
      throw new RangeError(`seeder share ${this.share}: expected 0 < share ≤ 1`);
    this.#floor = o.floorBps ?? SEEDER_YIELD_FLOOR_BPS;
    this.#idleMs = o.idleMs ?? SEEDER_YIELD_IDLE_MS;
    this.#o = o;
    this.#now = o.now ?? Date.now;
    this.#sampleStart = this.#now();
    this.#sampleBytes = this.#total();
  }

  /** The cap in force, undefined when none. */
  get cap(): number | undefined {
    return this.#cap;
  }

  #total(): number {
    const s = this.#o.sent();
    return s.phase1 + s.seeder;
  }

  /** Samples the link and sets or lifts the cap; returns what changed, if anything. */
  tick(): SeederYieldChange | undefined {
    const now = this.#now();
    if (now - this.#sampleStart >= 1000) {
      const total = this.#total();
      this.#samples.push([now, ((total - this.#sampleBytes) * 1000) / (now - this.#sampleStart)]);
      this.#samples = this.#samples.filter(([t]) => now - t <= WINDOW_MS);
      this.#sampleStart = now;
      this.#sampleBytes = total;
    }
    if (this.share >= 1) return undefined;
    if (this.#o.phase1Busy()) this.#lastBusy = now;
    if (now - this.#lastBusy < this.#idleMs) {
      const peak = this.#samples.reduce((m, [, r]) => Math.max(m, r), 0);
      const cap = Math.max(this.#floor, Math.round(peak * this.share));
      // Only moves of more than a tenth: the limiter's bucket restarts on every set.
      if (this.#cap === undefined || Math.abs(cap - this.#cap) > this.#cap / 10) {
        this.#cap = cap;
        this.#o.setLimit(cap);
        return { kind: 'capped', bytesPerSecond: cap };
      }
      return undefined;
    }
    if (this.#cap !== undefined) {
      this.#cap = undefined;
      this.#o.setLimit(undefined);
      return { kind: 'lifted' };
    }
    return undefined;
  }
}
