/** The parts of a bittorrent-protocol wire the limiter wraps. */
export interface LimitedWire {
  destroyed: boolean;
  piece(index: number, offset: number, buffer: Uint8Array): void;
  on(event: 'cancel', listener: (index: number, offset: number, length: number) => void): unknown;
  once(event: 'close', listener: () => void): unknown;
}

interface Waiting {
  wire: LimitedWire;
  send: (index: number, offset: number, buffer: Uint8Array) => void;
  index: number;
  offset: number;
  buffer: Uint8Array;
}

/** The smallest burst a limit allows: four 16 KiB blocks, so a low limit still sends whole requests. */
const MIN_BURST_BYTES = 64 * 1024;

/**
 * Bytes an upload cap of `limit` bytes/s lets out at once after an idle spell: a tenth of a second of
 * the rate, at least 64 KiB. Beyond it the bucket lends one block at most, so `n` bytes under the cap
 * take at least `(n - burst - 16 KiB) / limit` seconds.
 */
export function uploadBurstBytes(limit: number): number {
  return Math.max(MIN_BURST_BYTES, limit / 10);
}

/**
 * A token bucket in front of every wire's piece replies: with a limit set, blocks go out at most at
 * `limit` bytes per second summed over all wires, oldest first; without one, each block goes out at
 * once, untouched. Works by wrapping `wire.piece` (outermost, so a held block has not reached the
 * upload queue or the super-seeder yet), not webtorrent's throttle groups: those would move every
 * connection made while they are on off the fast path (fast-wire.ts) for good, and they do not slow
 * connections already on it. A peer's CANCEL drops its held block; a closed wire drops its blocks.
 */
export class UploadLimiter {
  #rate: number | undefined;
  #tokens = 0;
  #at: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #waiting: Waiting[] = [];
  /** blocks that were held back at least once */
  held = 0;

  /** @param now the clock in ms (a seam for tests) */
  constructor(private readonly now: () => number = () => performance.now()) {
    this.#at = now();
  }

  /** Bytes per second, or undefined: no limit. */
  get limit(): number | undefined {
    return this.#rate;
  }

  /** Sets the limit (bytes per second, > 0) or lifts it (undefined: held blocks go out at once). */
  set(rate: number | undefined): void {
    this.#refill();
    this.#rate = rate;
    if (rate !== undefined) this.#tokens = Math.min(this.#tokens, this.#burst());
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pump();
  }

  /** Puts one wire under the limiter. */
  attach(wire: LimitedWire): void {
    const send = wire.piece.bind(wire);
    wire.piece = (index: number, offset: number, buffer: Uint8Array) => {
      if (this.#rate === undefined && this.#waiting.length === 0) return send(index, offset, buffer);
      this.#waiting.push({ wire, send, index, offset, buffer });
      this.#pump();
      if (this.#waiting.length > 0) this.held++;
    };
    wire.on('cancel', (index, offset) => {
      const i = this.#waiting.findIndex((w) => w.wire === wire && w.index === index && w.offset === offset);
      if (i >= 0) this.#waiting.splice(i, 1);
    });
    wire.once('close', () => {
      for (let i = this.#waiting.length - 1; i >= 0; i--)
        if (this.#waiting[i]!.wire === wire) this.#waiting.splice(i, 1);
    });
  }

  /** Lifts the limit and stops the timer (the seeder is closing). */
  destroy(): void {
    this.set(undefined);
  }

  #burst(): number {
    return uploadBurstBytes(this.#rate ?? 0);
  }

  #refill(): void {
    const t = this.now();
    if (this.#rate !== undefined)
      this.#tokens = Math.min(this.#burst(), this.#tokens + ((t - this.#at) / 1000) * this.#rate);
    this.#at = t;
  }

  #pump(): void {
    this.#refill();
    while (this.#waiting.length > 0) {
      const w = this.#waiting[0]!;
      if (w.wire.destroyed) {
        this.#waiting.shift();
        continue;
      }
      if (this.#rate !== undefined) {
        // A block goes when the bucket is not in debt; it may take it below zero (blocks > burst).
        if (this.#tokens < 0) break;
        this.#tokens -= w.buffer.length;
      }
      this.#waiting.shift();
      w.send(w.index, w.offset, w.buffer);
    }
    if (this.#waiting.length > 0 && this.#rate !== undefined && this.#timer === undefined) {
      const ms = Math.max(5, (-this.#tokens / this.#rate) * 1000);
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#pump();
      }, ms);
      this.#timer.unref?.();
    }
  }
}
