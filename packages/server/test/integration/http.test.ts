import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientTable, MAX_STATUS_BODY, startHttpServer, type HttpServer } from '../../src/index.js';

/** The HTTP side in-process on loopback, with real files, fetch and curl as the clients. */
let dir: string;
let http: HttpServer;
let base: string;
const clients = new ClientTable();
const kernel = Buffer.alloc(100_000);
for (let i = 0; i < kernel.length; i++) kernel[i] = (i * 7) & 0xff;
const osFile = Buffer.from('the OS image bytes\n');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bt-server-http-'));
  await writeFile(join(dir, 'vmlinuz'), kernel);
  await writeFile(join(dir, 'base.cpio.xz'), 'base');
  await writeFile(join(dir, 'os.img'), osFile);
  await writeFile(join(dir, 'secret'), 'not served');
  http = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    baseUrl: 'http://127.0.0.1:1',
    phase1: { kernel: join(dir, 'vmlinuz'), initrds: [join(dir, 'base.cpio.xz')] },
    cmdline: 'console=ttyS0 bt.server=127.0.0.1',
    webSeedFiles: new Map([['demo/os.img', join(dir, 'os.img')]]),
    clients,
  });
  base = `http://127.0.0.1:${http.port}`;
});
afterAll(async () => {
  await http?.close();
  await rm(dir, { recursive: true, force: true });
});

const get = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
  fetch(base + path, { method, headers });

/** A raw request, for what fetch refuses to send (bad percent-encoding, odd methods). */
function raw(request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(http.port, '127.0.0.1', () => s.write(request));
    let data = '';
    s.on('data', (d) => (data += d.toString('latin1')));
    s.on('end', () => resolve(data));
    s.on('error', reject);
  });
}

describe('phase-1 files with Range', () => {
  it('serves a whole file with its length and accept-ranges', async () => {
    const r = await get('/phase1/vmlinuz');
    expect(r.status).toBe(200);
    expect(r.headers.get('accept-ranges')).toBe('bytes');
    expect(Buffer.from(await r.arrayBuffer()).equals(kernel)).toBe(true);
  });

  it('serves a closed range as 206 with content-range', async () => {
    const r = await get('/phase1/vmlinuz', { range: 'bytes=10-19' });
    expect(r.status).toBe(206);
    expect(r.headers.get('content-range')).toBe(`bytes 10-19/${kernel.length}`);
    expect(Buffer.from(await r.arrayBuffer()).equals(kernel.subarray(10, 20))).toBe(true);
  });

  it('serves a suffix range as the last bytes', async () => {
    const r = await get('/phase1/vmlinuz', { range: 'bytes=-5' });
    expect(r.status).toBe(206);
    expect(Buffer.from(await r.arrayBuffer()).equals(kernel.subarray(kernel.length - 5))).toBe(true);
  });

  it('answers 416 with the size for a range past the end and for a bad range', async () => {
    for (const range of [`bytes=${kernel.length}-`, 'bytes=abc', 'bytes=9-3']) {
      const r = await get('/phase1/vmlinuz', { range });
      expect(r.status, range).toBe(416);
      expect(r.headers.get('content-range'), range).toBe(`bytes */${kernel.length}`);
    }
  });

  it('answers several ranges with the whole file (200), as RFC 9110 allows', async () => {
    const r = await get('/phase1/vmlinuz', { range: 'bytes=0-1,5-6' });
    expect(r.status).toBe(200);
    expect((await r.arrayBuffer()).byteLength).toBe(kernel.length);
  });

  it('answers HEAD with the headers and no body', async () => {
    const r = await raw(
      `HEAD /phase1/vmlinuz HTTP/1.1\r\nHost: x\r\nRange: bytes=0-9\r\nConnection: close\r\n\r\n`,
    );
    const [head, body] = r.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1.1 206/);
    expect(head).toMatch(/content-length: 10/i);
    expect(body).toBe('');
  });

  it('resumes a download as curl does (-C -)', async () => {
    const part = join(dir, 'partial');
    await writeFile(part, kernel.subarray(0, 4000));
    // curl runs as a child while this process serves it: never a *Sync spawn here.
    await promisify(execFile)('curl', ['-sS', '-f', '-C', '-', '-o', part, `${base}/phase1/vmlinuz`]);
    expect((await readFile(part)).equals(kernel)).toBe(true);
  });
});

describe('what is served and what is not', () => {
  it('serves web seed files by OS and path, nothing else', async () => {
    const r = await get('/webseed/demo/os.img');
    expect(await r.text()).toBe(osFile.toString());
    for (const p of [
      '/webseed/demo/../../secret',
      '/webseed/demo/%2e%2e/secret',
      '/phase1/secret',
      '/secret',
    ]) {
      const n = await raw(`GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      expect(n, p).toMatch(/^HTTP\/1.1 404/);
    }
  });

  it('answers a malformed percent-encoding with 400 and one line', async () => {
    const r = await raw(`GET /phase1/%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expect(r).toMatch(/^HTTP\/1.1 400/);
    expect(r.split('\r\n\r\n')[1]!.trim().split('\n')).toHaveLength(1);
  });

  it('answers other methods with 405 and an Allow header', async () => {
    const r = await get('/phase1/vmlinuz', {}, 'DELETE');
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toBe('GET, HEAD, POST');
  });
});

describe('boot script', () => {
  it('first makes iPXE identify itself, then gives the per-client script', async () => {
    expect(await (await get('/boot.ipxe')).text()).toContain('boot.ipxe?mac=${netX/mac}');
    const script = await (await get('/boot.ipxe?mac=52:54:00:AB:00:01')).text();
    expect(script).toMatch(/^#!ipxe/);
    expect(script).toContain('http://127.0.0.1:1/phase1/vmlinuz');
    expect(script).toContain('http://127.0.0.1:1/phase1/base.cpio.xz');
    expect(clients.get('52:54:00:ab:00:01')?.phase).toBe('loader');
  });

  it('refuses a MAC that is not one', async () => {
    const r = await get('/boot.ipxe?mac=52:54:00:zz');
    expect(r.status).toBe(400);
    expect((await r.text()).trim().split('\n')).toHaveLength(1);
  });
});

describe('status API', () => {
  const post = (mac: string, body: string | Buffer) =>
    fetch(`${base}/api/v1/clients/${mac}/status`, { method: 'POST', body });

  it('takes a status report and shows it in the client list and by MAC', async () => {
    const r = await post(
      '52-54-00-00-00-09',
      JSON.stringify({ phase: 'downloading', os: 'demo', progress: 0.25 }),
    );
    expect(r.status).toBe(204);
    const list = (await (await get('/api/v1/clients')).json()) as { mac: string; phase: string }[];
    expect(list.find((c) => c.mac === '52:54:00:00:00:09')).toMatchObject({
      phase: 'downloading',
      ip: '127.0.0.1',
    });
    const one = await get('/api/v1/clients/52:54:00:00:00:09');
    expect(((await one.json()) as { progress: number }).progress).toBe(0.25);
    expect((await get('/api/v1/clients/52:54:00:00:00:77')).status).toBe(404);
  });

  it('answers a seeding report with how many known machines still need that OS', async () => {
    // A room of its own: the other tests' machines are not in it.
    await using room = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      baseUrl: 'http://127.0.0.1:1',
      phase1: { kernel: join(dir, 'vmlinuz'), initrds: [] },
      cmdline: '',
      webSeedFiles: new Map(),
      clients: new ClientTable(),
    });
    const url = `http://127.0.0.1:${room.port}`;
    const [a, b, c, d] = ['52:54:00:00:05:01', '52:54:00:00:05:02', '52:54:00:00:05:03', '52:54:00:00:05:04'];
    const report = async (mac: string, phase: string, os?: string) => {
      const r = await fetch(`${url}/api/v1/clients/${mac}/status`, {
        method: 'POST',
        body: JSON.stringify({ phase, os }),
      });
      return { status: r.status, type: r.headers.get('content-type'), body: await r.text() };
    };
    expect((await report(b, 'downloading', 'room')).status).toBe(204);
    expect((await report(d, 'downloading', 'elsewhere')).status).toBe(204);
    expect((await fetch(`${url}/boot.ipxe?mac=${c}`)).status).toBe(200); // c is in its boot loader
    const first = await report(a, 'seeding', 'room');
    expect(first.status).toBe(200);
    expect(first.type).toMatch(/^application\/json/);
    expect(JSON.parse(first.body)).toEqual({ waiting: 2 }); // b downloading it, c yet to choose
    expect(JSON.parse((await report(b, 'seeding', 'room')).body)).toEqual({ waiting: 1 });
    expect((await report(c, 'downloading', 'room')).status).toBe(204);
    expect(JSON.parse((await report(a, 'seeding', 'room')).body)).toEqual({ waiting: 1 });
    await report(c, 'seeding', 'room');
    expect(JSON.parse((await report(a, 'seeding', 'room')).body)).toEqual({ waiting: 0 });
    // d still downloads another OS: its seeders hear about it.
    expect(JSON.parse((await report(d, 'seeding', 'elsewhere')).body)).toEqual({ waiting: 0 });
  });

  it('answers bad JSON, a bad field and a bad MAC with 400 and one line', async () => {
    const cases: [string, string, RegExp][] = [
      ['52:54:00:00:00:09', '{"phase":', /not JSON/],
      ['52:54:00:00:00:09', '{"phase":"flying"}', /^status phase: /],
      ['52:54:00:00:00:09', '{"phase":"menu","progress":7}', /^status progress: /],
      ['not-a-mac', '{"phase":"menu"}', /^bad MAC "not-a-mac"/],
      ['52:54:00:00:00:0g', '{"phase":"menu"}', /^bad MAC/],
    ];
    for (const [mac, body, re] of cases) {
      const r = await post(mac, body);
      const text = await r.text();
      expect(r.status, `${mac} ${body}`).toBe(400);
      expect(text.trim().split('\n'), text).toHaveLength(1);
      expect(text, text).toMatch(re);
    }
  });

  it('refuses an oversized body with 413 and keeps serving', async () => {
    const r = await post('52:54:00:00:00:09', Buffer.alloc(MAX_STATUS_BODY + 1, 0x20));
    expect(r.status).toBe(413);
    expect((await get('/phase1/base.cpio.xz')).status).toBe(200);
  });

  it('has no POST route elsewhere', async () => {
    const r = await fetch(`${base}/phase1/vmlinuz`, { method: 'POST', body: '{}' });
    expect(r.status).toBe(404);
  });
});

describe('extra routes', () => {
  it('tries extra routes first, answers HEAD for GET routes, and 405 for another method', async () => {
    const calls: string[] = [];
    const extra = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      baseUrl: 'http://127.0.0.1:1',
      phase1: { kernel: join(dir, 'vmlinuz'), initrds: [] },
      cmdline: '',
      webSeedFiles: new Map(),
      clients: new ClientTable(),
      routes: [
        {
          method: 'GET',
          path: /^\/hello\/(\w+)$/,
          handle: (_req, _res, ctx) => {
            calls.push(ctx.params[0]!);
            ctx.send(200, `hello ${ctx.params[0]}\n`);
          },
        },
      ],
    });
    try {
      const u = `http://127.0.0.1:${extra.port}`;
      expect(await (await fetch(`${u}/hello/room`)).text()).toBe('hello room\n');
      const head = await fetch(`${u}/hello/x`, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(await head.text()).toBe('');
      const put = await fetch(`${u}/hello/x`, { method: 'PUT', body: '{}' });
      expect(put.status).toBe(405);
      expect(put.headers.get('allow')).toBe('GET');
      expect((await fetch(`${u}/phase1/vmlinuz`)).status).toBe(200);
      expect(calls).toEqual(['room', 'x']);
    } finally {
      await extra.close();
    }
  });
});
