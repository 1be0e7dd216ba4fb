import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ClientTable,
  refusalLog,
  reloadRoutes,
  startHttpServer,
  wakeRoutes,
  type HttpRoute,
  type HttpServer,
} from '../../src/index.js';

/**
 * The 401 log lines of the write routes, rate-limited per source address: real HTTP requests on
 * loopback from several source addresses (127.0.0.1 to 127.0.0.4, all on lo), the wake and reload
 * routes sharing one limiter with a fake clock. The 401 answers themselves never change.
 */
const TOKEN = 'a'.repeat(64);
const WAKE = '/api/v1/machines/52:54:00:12:34:56/wake';
const RELOAD = '/api/v1/reload';
let clock = 0;
const lines: string[] = [];
const plainLines: string[] = [];
let limited: HttpServer;
let plain: HttpServer;

function server(routes: HttpRoute[]): Promise<HttpServer> {
  return startHttpServer({
    host: '127.0.0.1',
    port: 0,
    baseUrl: 'http://127.0.0.1:1',
    phase1: { kernel: '/nonexistent', initrds: [] },
    cmdline: '',
    webSeedFiles: new Map(),
    clients: new ClientTable(),
    routes,
  });
}

/** The routes' actions: a refused request must never reach them. */
const never = () => Promise.reject(new Error('reached the route'));

beforeAll(async () => {
  const log = refusalLog((m) => lines.push(m), {
    burst: 2,
    intervalMs: 10_000,
    maxSources: 2,
    now: () => clock,
  });
  limited = await server([
    ...wakeRoutes({ token: TOKEN, wake: never, log }),
    ...reloadRoutes({ token: TOKEN, dir: '/nonexistent', reload: never, log }),
  ]);
  // As services.ts wires it: a plain log function, so authorize limits with the defaults.
  plain = await server(wakeRoutes({ token: TOKEN, wake: never, log: (m) => plainLines.push(m) }));
});
afterAll(async () => {
  await limited?.close();
  await plain?.close();
});

/** POST `path` from the source address `from`, with `token` as the bearer (none: no header). */
function post(
  s: HttpServer,
  path: string,
  from: string,
  token?: string,
): Promise<{ status: number; body: string; challenge: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: s.port,
        path,
        method: 'POST',
        localAddress: from,
        headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () =>
          resolve({ status: res.statusCode!, body, challenge: res.headers['www-authenticate'] }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Every answer is the unchanged 401: status, one line, the Bearer challenge. */
function expect401(r: { status: number; body: string; challenge: string | undefined }, why: string) {
  expect(r).toEqual({
    status: 401,
    body: `${why}: send the project's .boottorrent-token as "Authorization: Bearer <token>"\n`,
    challenge: 'Bearer realm="boottorrent"',
  });
}

describe('401 log lines, per source address', () => {
  it('logs the burst, counts the rest across routes, and reports the count in the next window', async () => {
    const WRONG = 'b'.repeat(64);
    expect401(await post(limited, WAKE, '127.0.0.1', WRONG), 'wrong token');
    expect401(await post(limited, RELOAD, '127.0.0.1'), 'missing token');
    expect(lines).toEqual([
      `refused POST ${WAKE} from 127.0.0.1: wrong token (401)`,
      `refused POST ${RELOAD} from 127.0.0.1: missing token (401) (more from 127.0.0.1 in the next 10 s are counted, not logged)`,
    ]);
    // Three more in the same window, on both routes: answered as ever, not logged.
    expect401(await post(limited, RELOAD, '127.0.0.1', WRONG), 'wrong token');
    expect401(await post(limited, WAKE, '127.0.0.1'), 'missing token');
    clock = 9_999;
    expect401(await post(limited, WAKE, '127.0.0.1', WRONG), 'wrong token');
    expect(lines).toHaveLength(2);

    // Another source has its own window.
    expect401(await post(limited, RELOAD, '127.0.0.2', WRONG), 'wrong token');
    expect(lines.slice(2)).toEqual([`refused POST ${RELOAD} from 127.0.0.2: wrong token (401)`]);

    // The window of 127.0.0.1 is over: the next line says how many were left out, once.
    clock = 10_000;
    expect401(await post(limited, WAKE, '127.0.0.1', WRONG), 'wrong token');
    expect401(await post(limited, WAKE, '127.0.0.1', WRONG), 'wrong token');
    expect(lines.slice(3)).toEqual([
      `refused POST ${WAKE} from 127.0.0.1: wrong token (401) (3 more suppressed)`,
      `refused POST ${WAKE} from 127.0.0.1: wrong token (401) (more from 127.0.0.1 in the next 10 s are counted, not logged)`,
    ]);
  });

  it('remembers at most maxSources sources and reports the counts of forgotten ones', async () => {
    // Remembered now, oldest first: 127.0.0.2 (window from 9.999 s, 1 line), 127.0.0.1 (2 lines).
    const before = lines.length;
    expect401(await post(limited, RELOAD, '127.0.0.2'), 'missing token'); // its 2nd line
    expect401(await post(limited, RELOAD, '127.0.0.2'), 'missing token'); // counted
    expect401(await post(limited, RELOAD, '127.0.0.2'), 'missing token'); // counted
    expect(lines.slice(before)).toEqual([
      `refused POST ${RELOAD} from 127.0.0.2: missing token (401) (more from 127.0.0.2 in the next 10 s are counted, not logged)`,
    ]);
    // 127.0.0.3 pushes out 127.0.0.1 (nothing counted); 127.0.0.4 pushes out 127.0.0.2 (2 counted).
    expect401(await post(limited, WAKE, '127.0.0.3'), 'missing token');
    expect401(await post(limited, WAKE, '127.0.0.4'), 'missing token');
    expect(lines.slice(before + 1)).toEqual([
      `refused POST ${WAKE} from 127.0.0.3: missing token (401)`,
      `refused POST ${WAKE} from 127.0.0.4: missing token (401) (2 more from other sources suppressed)`,
    ]);
    // 127.0.0.1 was forgotten: it starts afresh.
    expect401(await post(limited, WAKE, '127.0.0.1'), 'missing token');
    expect(lines.at(-1)).toBe(`refused POST ${WAKE} from 127.0.0.1: missing token (401)`);
  });

  it('limits a route built with a plain log function too (the defaults: 5 lines a minute)', async () => {
    // Real clock: six requests on loopback well inside the default minute (the test's own timeout
    // is two minutes).
    for (let i = 0; i < 6; i++) expect401(await post(plain, WAKE, '127.0.0.1'), 'missing token');
    const line = `refused POST ${WAKE} from 127.0.0.1: missing token (401)`;
    expect(plainLines.slice(0, 4)).toEqual([line, line, line, line]);
    expect(plainLines[4]).toMatch(
      /^refused POST \S+ from 127\.0\.0\.1: missing token \(401\) \(more from 127\.0\.0\.1 in the next \d+ s are counted, not logged\)$/,
    );
    expect(plainLines).toHaveLength(5);
    // A good token still passes the gate: the route runs (its action fails on purpose here).
    const ok = await post(plain, WAKE, '127.0.0.1', TOKEN);
    expect(ok).toMatchObject({ status: 500, body: 'reached the route\n' });
  });

  it('refuses a limiter that would log nothing', () => {
    expect(() => refusalLog(() => {}, { burst: 0 })).toThrow(/^refusalLog burst 0 is not a number >= 1$/);
    expect(() => refusalLog(() => {}, { intervalMs: Number.NaN })).toThrow(/intervalMs NaN/);
  });
});
