import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { API_TOKEN_FILE } from '@boottorrent/config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startRoom, type Answer } from './_room.js';

/**
 * Random requests at every HTTP route of a running boot server (in-process, loopback only): odd
 * methods, path tricks, bad MACs, bad and oversized bodies, wrong tokens. Every answer must be below
 * 500 and, when it is a refusal, one line; the server must answer normally afterwards. Bounded by a
 * request count and a time budget; the seed is printed so a failure can be replayed
 * (BT_FUZZ_SEED=<seed>).
 */
const COUNT = Number(process.env.BT_FUZZ_COUNT ?? 1500);
const BUDGET_MS = 60_000;
const SEED = Number(process.env.BT_FUZZ_SEED ?? Date.now() % 2 ** 31);

let room: Awaited<ReturnType<typeof startRoom>>;
let token = '';
beforeAll(async () => {
  room = await startRoom('fuzz');
  token = (await readFile(join(room.server.out.outDir, '..', API_TOKEN_FILE), 'utf8').catch(() => '')).trim();
}, 600_000);
afterAll(() => room?.close());

/** mulberry32: a small seeded PRNG, so a run can be replayed. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  return { next, int, pick };
}

const MACS = [
  '52:54:00:12:34:56',
  '52-54-00-12-34-57',
  'AA:BB:CC:DD:EE:FF',
  'nonsense',
  '52:54:00:12:34',
  '52:54:00:12:34:56:78',
  '%00',
  '..%2f..%2fetc',
  '%2e%2e',
  'é',
  'x'.repeat(300),
  '',
];
const PATHS = [
  '/',
  '/metrics',
  '/boot.ipxe',
  '/boot.ipxe?mac=',
  '/phase1/',
  '/phase1/../../../../etc/passwd',
  '/phase1/%2e%2e/%2e%2e/etc/passwd',
  '/phase1/vmlinuz%00.txt',
  '/webseed/',
  '/webseed/hello/../../../../etc/passwd',
  '/webseed/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
  '/webseed/hello/hello',
  '/api/v1/clients',
  '/api/v1/clients/',
  '/api/v1/machines',
  '/api/v1/machines/',
  '/api/v1/events',
  '/runtime/',
  '/runtime/../../etc/passwd',
  '/%zz',
  '//etc/passwd',
  '/api/v1/clients/%ZZ/status',
  '/' + 'a/'.repeat(500),
  '/phase1/%0Ainjected',
  '/webseed/%0d%0aSet-Cookie:%20x=1',
  '/api/v1/clients/%0A/status',
  '/api/v1/machines/%0A',
  '/runtime/x%0Ay',
  '/nowhere%E2%80%A8x',
];
const MAC_ROUTES = [
  (m: string) => `/api/v1/clients/${m}`,
  (m: string) => `/api/v1/clients/${m}/status`,
  (m: string) => `/api/v1/clients/${m}/log`,
  (m: string) => `/api/v1/machines/${m}`,
  (m: string) => `/boot.ipxe?mac=${m}`,
];
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];
const BODIES: (() => string | Buffer | undefined)[] = [
  () => undefined,
  () => '',
  () => '{',
  () => 'null',
  () => '[]',
  () => '"x"',
  () => '{"phase":"downloading","progress":0.5}',
  () => '{"phase":"nope"}',
  () => '{"phase":"error","message":"<script>x</script>"}',
  () => '{"progress":1e309}',
  () => '{"lines":["a","b"]}',
  () => '{"lines":[1,2]}',
  () => '{"lines":"x","dropped":-1}',
  () => '{"os":"hello","menu":false}',
  () => '{"os":"../../etc","menu":"yes"}',
  () => '{"os":null,"cmdline":"a\\nb"}',
  () => '{"__proto__":{"polluted":1},"phase":"menu"}',
  () => '['.repeat(20_000) + ']'.repeat(20_000),
  () => Buffer.alloc(70 * 1024, 0x41),
];

function randomBytes(r: ReturnType<typeof prng>, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = r.int(256);
  return b;
}

/** One raw request written to a socket, for what http.request will not send. */
function raw(port: number, text: string | Buffer): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => s.end(text));
    let data = '';
    s.setTimeout(10_000, () => s.destroy());
    s.on('data', (d) => (data += d.toString('latin1')));
    s.on('close', () => resolve(data));
    s.on('error', () => resolve(data));
  });
}

/** What every answer must be: below 500; a refusal's body is empty or one line (no stack). */
function judge(a: Answer, what: string): string | null {
  if (a.status >= 500) return `${what} → ${a.status} ${a.text.slice(0, 200)}`;
  if (a.text.includes('root:x:0:0')) return `${what} served /etc/passwd`;
  if (a.status >= 400) {
    const body = a.text;
    if (body && (!body.endsWith('\n') || /[\n\r\u2028\u2029]/.test(body.slice(0, -1)) || body.length > 400))
      return `${what} → ${a.status} not one line (echo request text through oneLine() of src/line.ts): ${JSON.stringify(body.slice(0, 200))}`;
    if (/\bat .*\.(ts|js):\d+/.test(body)) return `${what} → a stack trace`;
  }
  return null;
}

describe('HTTP routes under random input', () => {
  it(`answers ${COUNT} random requests below 500 with one-line refusals, and keeps serving`, async () => {
    const r = prng(SEED);
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    const started = Date.now();
    let done = 0;
    const one = async (i: number) => {
      const method = r.pick(METHODS);
      let path = r.next() < 0.5 ? r.pick(PATHS) : r.pick(MAC_ROUTES)(r.pick(MACS));
      // A GET of the event stream never ends: only its HEAD is fuzzed.
      if (path === '/api/v1/events' && method !== 'HEAD') path = '/api/v1/events/x';
      const body = r.next() < 0.1 ? randomBytes(r, r.int(300)) : r.pick(BODIES)();
      const headers: Record<string, string> = {};
      const auth = r.int(4);
      if (auth === 1) headers.authorization = 'Bearer wrong';
      if (auth === 2 && token) headers.authorization = `Bearer ${token}`;
      if (auth === 3) headers.authorization = 'Basic ' + 'x'.repeat(r.int(100));
      if (r.next() < 0.2)
        headers.range = r.pick(['bytes=0-10', 'bytes=-5', 'bytes=9-3', 'bytes=abc', 'bytes=0-1,5-6']);
      const from = `127.0.0.${40 + r.int(20)}`;
      const what = `#${i} ${method} ${path.slice(0, 80)} (${body === undefined ? 'no body' : `${body.length} B`}, seed ${SEED})`;
      const a = await call(room.base, method, path, { body, from, headers }).catch(
        (e: Error) => ({ status: 0, text: e.message, headers: {} }) as Answer,
      );
      statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
      // A client error on our side (the server closed on an oversized body) is fine; a 5xx is not.
      if (a.status !== 0) {
        const bad = judge(a, what);
        if (bad) failures.push(bad);
      }
      done++;
    };
    const lanes = Array.from({ length: 8 }, async (_, lane) => {
      for (let i = lane; i < COUNT && Date.now() - started < BUDGET_MS; i += 8) await one(i);
    });
    await Promise.all(lanes);

    // What http.request will not send: a bad request line, a bad encoding, a lying content-length.
    const port = room.server.ports.http!;
    const rawAnswers = await Promise.all([
      raw(port, 'FOO / HTTP/1.1\r\nhost: x\r\n\r\n'),
      raw(port, 'GET /%zz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n'),
      raw(port, 'GET /../../etc/passwd HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n'),
      raw(
        port,
        'POST /api/v1/clients/52:54:00:12:34:99/status HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{"phase"',
      ),
      raw(port, `GET / HTTP/1.1\r\nhost: x\r\nx-big: ${'y'.repeat(20_000)}\r\n\r\n`),
      raw(port, randomBytes(prng(SEED + 1), 512)),
    ]);
    for (const [i, text] of rawAnswers.entries()) {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      if (status >= 500) failures.push(`raw #${i} → ${text.slice(0, 200)}`);
      if (text.includes('root:x:0:0')) failures.push(`raw #${i} served /etc/passwd`);
    }

    expect(failures, `seed ${SEED}`).toEqual([]);
    expect(done).toBeGreaterThan(Math.min(COUNT, 200));
    expect([...statuses.keys()].some((s) => s >= 400 && s < 500)).toBe(true);
    // Still serving, and the table is intact.
    const after = await call(room.base, 'GET', '/api/v1/clients');
    expect(after.status).toBe(200);
    expect(Array.isArray(JSON.parse(after.text))).toBe(true);
    expect((await call(room.base, 'GET', '/metrics')).status).toBe(200);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    console.log(
      `fuzz: ${done} requests, seed ${SEED}, statuses ${JSON.stringify(Object.fromEntries(statuses))}`,
    );
  });
});
