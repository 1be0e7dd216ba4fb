import { normalizeMac } from '@boottorrent/config';
import { MAX_LOG_LINE_CHARS } from './client-logs.js';
import { renderDashboard, DASHBOARD_CSP } from './dashboard.js';
import { readBody, type HttpRoute, type RouteContext } from './http.js';
import { oneLine } from './line.js';
import { METRICS_CONTENT_TYPE, renderMetrics } from './metrics.js';
import type { Monitor } from './monitor.js';
import type { EventStreams } from './sse.js';

/** Largest log batch an agent may POST. @default 16 KiB */
export const MAX_LOG_BODY = 16 * 1024;
/** Lines one log POST may carry. @default 100 */
export const MAX_LOG_BATCH = 100;
const MAC = /^[0-9a-f]{2}([:-][0-9a-f]{2}){5}$/i;

/** The MAC of a route, or a 400 with one line. */
function macParam(raw: string, ctx: RouteContext): string | null {
  if (MAC.test(raw)) return normalizeMac(raw);
  ctx.send(400, `bad MAC "${oneLine(raw, 40)}": expected six hex pairs, e.g. 52:54:00:12:34:56\n`);
  return null;
}

/** A log batch as the agent sends it: `{ lines: string[], dropped?: number }`, or why it is not one. */
export function parseLogBatch(json: unknown): { lines: string[]; dropped: number } | string {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return 'log body must be an object';
  const { lines, dropped = 0 } = json as { lines?: unknown; dropped?: unknown };
  if (!Array.isArray(lines)) return 'log lines must be an array of strings';
  if (lines.length > MAX_LOG_BATCH) return `log batch of ${lines.length} lines: at most ${MAX_LOG_BATCH}`;
  if (!lines.every((l) => typeof l === 'string' && l.length <= MAX_LOG_LINE_CHARS * 4))
    return `log lines must be strings of at most ${MAX_LOG_LINE_CHARS * 4} characters`;
  if (typeof dropped !== 'number' || !Number.isSafeInteger(dropped) || dropped < 0)
    return 'log dropped must be a non-negative integer';
  return { lines, dropped };
}

/**
 * The operator's routes: the dashboard (`/`), its event stream, `/metrics`, and the agents' console
 * lines (`/api/v1/clients/:mac/log`, POST open to machines behind the same gate as status reports).
 */
export function opsRoutes(m: Monitor, streams: EventStreams, title: string): HttpRoute[] {
  return [
    {
      method: 'GET',
      path: /^\/$/,
      handle(_req, res, ctx) {
        res.setHeader('content-security-policy', DASHBOARD_CSP);
        res.setHeader('x-content-type-options', 'nosniff');
        res.setHeader('referrer-policy', 'no-referrer');
        res.setHeader('cache-control', 'no-store');
        ctx.send(200, renderDashboard(streams.snapshot(), title), 'text/html; charset=utf-8');
      },
    },
    {
      method: 'GET',
      path: /^\/api\/v1\/events$/,
      handle: (req, res) => streams.open(req, res),
    },
    {
      method: 'GET',
      path: /^\/metrics$/,
      handle: (_req, _res, ctx) => ctx.send(200, renderMetrics(m), METRICS_CONTENT_TYPE),
    },
    {
      method: 'GET',
      path: /^\/api\/v1\/clients\/([^/]+)\/log$/,
      handle(_req, _res, ctx) {
        const mac = macParam(ctx.params[0]!, ctx);
        if (!mac) return;
        if (!m.logs.has(mac) && !m.clients.get(mac)) return ctx.send(404, `no client ${mac} seen yet\n`);
        const body = { mac, dropped: m.logs.dropped(mac), lines: m.logs.tail(mac) };
        ctx.send(200, JSON.stringify(body) + '\n', 'application/json');
      },
    },
    {
      method: 'POST',
      path: /^\/api\/v1\/clients\/([^/]+)\/log$/,
      async handle(req, res, ctx) {
        const mac = macParam(ctx.params[0]!, ctx);
        if (!mac) return;
        const refused = m.guard.admit(mac, ctx.remote);
        if (refused) return ctx.send(refused.status, refused.line);
        const body = await readBody(req, MAX_LOG_BODY);
        if (body === 'aborted') return;
        if (body === 'too-large') {
          res.setHeader('connection', 'close');
          return ctx.send(413, `log body over ${MAX_LOG_BODY} bytes\n`);
        }
        let json: unknown;
        try {
          json = JSON.parse(body);
        } catch {
          return ctx.send(400, 'log body is not JSON\n');
        }
        const batch = parseLogBatch(json);
        if (typeof batch === 'string') return ctx.send(400, batch + '\n');
        m.logs.append(mac, batch.lines, batch.dropped);
        res.writeHead(204).end();
      },
    },
  ];
}
