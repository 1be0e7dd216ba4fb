import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
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

/**
 * The write routes' gate: true when the request carries the project's token; otherwise answers 401
 * with one line (and a `WWW-Authenticate` challenge), logs one line, and returns false.
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
  log(`refused ${req.method} ${oneLine(ctx.path)} from ${ctx.remote}: ${why} (401)`);
  res.setHeader('www-authenticate', 'Bearer realm="boottorrent"');
  ctx.send(401, `${why}: send the project's .boottorrent-token as "Authorization: Bearer <token>"\n`);
  return false;
}
