import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ServerError, ServerErrorCode } from './errors.js';
import type { RouteContext } from './http.js';
import { oneLine } from './line.js';

/** Why the Authorization header does not carry `token`, or null when it does. Constant time. */
export function checkToken(header: string | undefined, token: string): string | null {
  if (!header) return 'missing token';
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  if (!m) return 'missing token';
  // Both sides hashed first: equal lengths for timingSafeEqual, and no length leaks through timing.
  const a = createHash('sha256').update(m[1]!).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b) ? null : 'wrong token';
}

/** Refusal lines one source address may log per interval; later ones are counted. @default 5 */
export const DEFAULT_REFUSAL_BURST = 5;
/** The interval of {@link DEFAULT_REFUSAL_BURST}, in milliseconds. @default 60 s */
export const DEFAULT_REFUSAL_INTERVAL_MS = 60_000;
/** Source addresses remembered; the one refused least recently is forgotten first. @default 1024 */
export const DEFAULT_REFUSAL_SOURCES = 1024;

/** Options of {@link refusalLog}. */
export interface RefusalLogOptions {
  /** @default DEFAULT_REFUSAL_BURST */
  burst?: number;
  /** @default DEFAULT_REFUSAL_INTERVAL_MS */
  intervalMs?: number;
  /** @default DEFAULT_REFUSAL_SOURCES */
  maxSources?: number;
  /** The clock (milliseconds). @default Date.now */
  now?: () => number;
}

/**
 * A log function that passes every line through, plus `refused(source, line)`: the refusal lines
 * of one source rate-limited, so a LAN host sending bad tokens in a loop cannot flood the log.
 */
export type RefusalLog = ((message: string) => void) & {
  refused(source: string, line: string): void;
};

/**
 * Wraps `log` so refusals are logged at most `burst` times per source address per interval
 * (fixed windows from the source's first refusal). The rest are counted, and the next line logged
 * for that source ends with `(N more suppressed)`; the line that uses up the burst says so. Memory
 * is bounded: at most `maxSources` sources are remembered, and the counts of forgotten ones are
 * reported on the next refusal line logged for any source.
 */
export function refusalLog(log: (message: string) => void, o: RefusalLogOptions = {}): RefusalLog {
  const burst = o.burst ?? DEFAULT_REFUSAL_BURST;
  const interval = o.intervalMs ?? DEFAULT_REFUSAL_INTERVAL_MS;
  const max = Math.max(1, o.maxSources ?? DEFAULT_REFUSAL_SOURCES);
  const now = o.now ?? Date.now;
  for (const [name, v] of [
    ['burst', burst],
    ['intervalMs', interval],
  ] as const)
    if (!Number.isFinite(v) || v < 1)
      throw new ServerError(ServerErrorCode.BadOption, `refusalLog ${name} ${v} is not a number >= 1`, {
        hint: `leave it out for the default (${name === 'burst' ? DEFAULT_REFUSAL_BURST : DEFAULT_REFUSAL_INTERVAL_MS})`,
      });
  /** In order of last refusal, oldest first: the window's start, lines logged, refusals counted. */
  const sources = new Map<string, { start: number; logged: number; suppressed: number }>();
  let forgotten = 0;
  const refused = (source: string, line: string) => {
    const t = now();
    let w = sources.get(source);
    sources.delete(source);
    let carried = 0;
    if (!w || t - w.start >= interval) {
      carried = w?.suppressed ?? 0;
      w = { start: t, logged: 0, suppressed: 0 };
    }
    while (sources.size >= max) {
      const [oldest, old] = sources.entries().next().value!;
      forgotten += old.suppressed;
      sources.delete(oldest);
    }
    sources.set(source, w);
    if (w.logged >= burst) {
      w.suppressed++;
      return;
    }
    w.logged++;
    const notes: string[] = [];
    if (carried) notes.push(`${carried} more suppressed`);
    if (forgotten) notes.push(`${forgotten} more from other sources suppressed`);
    if (w.logged === burst) {
      const left = Math.max(1, Math.ceil((w.start + interval - t) / 1000));
      notes.push(`more from ${source} in the next ${left} s are counted, not logged`);
    }
    forgotten = 0;
    log(notes.length ? `${line} (${notes.join('; ')})` : line);
  };
  return Object.assign((message: string) => log(message), { refused });
}

/** The limiter of each plain log function {@link authorize} is given (routes built without one). */
const limiters = new WeakMap<(message: string) => void, RefusalLog>();

/**
 * The write routes' gate: true when the request carries the project's token; otherwise answers 401
 * with one line (and a `WWW-Authenticate` challenge), logs one line, and returns false. The log
 * lines are rate-limited per source address: through `log.refused` when `log` is a
 * {@link refusalLog}, otherwise through one made (with the defaults) for that `log` function.
 */
export function authorize(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: RouteContext,
  token: string,
  log: (message: string) => void,
): boolean {
  const why = checkToken(req.headers.authorization, token);
  if (!why) return true;
  let limited = typeof (log as Partial<RefusalLog>).refused === 'function' ? (log as RefusalLog) : undefined;
  if (!limited) {
    limited = limiters.get(log) ?? refusalLog(log);
    limiters.set(log, limited);
  }
  limited.refused(ctx.remote, `refused ${req.method} ${oneLine(ctx.path)} from ${ctx.remote}: ${why} (401)`);
  res.setHeader('www-authenticate', 'Bearer realm="boottorrent"');
  ctx.send(401, `${why}: send the project's .boottorrent-token as "Authorization: Bearer <token>"\n`);
  return false;
}
