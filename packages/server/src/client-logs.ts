import { EventEmitter } from 'node:events';

/** Console lines kept per machine (the oldest fall out). @default 200 */
export const MAX_LOG_LINES = 200;
/** Machines whose logs are kept; the one updated longest ago is forgotten first. @default 1024 */
export const MAX_LOG_CLIENTS = 1024;
/** Characters kept of one console line. @default 512 */
export const MAX_LOG_LINE_CHARS = 512;

/** One console line an agent sent, with the time the server received it (ms since the epoch). */
export interface LogLine {
  t: number;
  text: string;
}

/**
 * The agents' console lines, a bounded ring per machine (POST/GET /api/v1/clients/:mac/log). Lines
 * are attacker-controlled text: control characters are dropped and each line is cut to
 * {@link MAX_LOG_LINE_CHARS}; nothing here is ever interpreted.
 */
export class ClientLogs extends EventEmitter<{ append: [string, LogLine[]] }> {
  readonly #rings = new Map<string, LogLine[]>();
  /** Lines dropped per machine because its ring was full or the agent said it dropped some. */
  readonly #dropped = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {
    super();
  }

  /** Appends lines for `mac`; returns the lines as kept. `dropped` counts lines the agent lost. */
  append(mac: string, lines: readonly string[], dropped = 0): LogLine[] {
    let ring = this.#rings.get(mac);
    if (ring)
      this.#rings.delete(mac); // re-insert: the map's order is the eviction order
    else {
      ring = [];
      if (this.#rings.size >= MAX_LOG_CLIENTS) {
        const oldest = this.#rings.keys().next().value!;
        this.#rings.delete(oldest);
        this.#dropped.delete(oldest);
      }
    }
    this.#rings.set(mac, ring);
    const t = this.now();
    const kept = lines.map((l) => ({ t, text: clean(l) }));
    ring.push(...kept);
    const over = ring.length - MAX_LOG_LINES;
    if (over > 0) ring.splice(0, over);
    const lost = Math.max(0, over) + dropped;
    if (lost) this.#dropped.set(mac, (this.#dropped.get(mac) ?? 0) + lost);
    if (kept.length) this.emit('append', mac, kept);
    return kept;
  }

  /** The last `n` lines of `mac` (all kept lines by default), oldest first. */
  tail(mac: string, n = MAX_LOG_LINES): LogLine[] {
    const ring = this.#rings.get(mac) ?? [];
    return ring.slice(Math.max(0, ring.length - n));
  }

  /** Lines of `mac` lost to the bounds (here or on the agent). */
  dropped(mac: string): number {
    return this.#dropped.get(mac) ?? 0;
  }

  has(mac: string): boolean {
    return this.#rings.has(mac);
  }
}

/** One printable line: control characters (escape sequences included) removed, length capped. */
export function clean(line: string): string {
  // eslint-disable-next-line no-control-regex
  const text = line.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '').replace(/[\x00-\x1f\x7f-\x9f]/g, '');
  return text.length > MAX_LOG_LINE_CHARS ? text.slice(0, MAX_LOG_LINE_CHARS - 1) + '…' : text;
}
