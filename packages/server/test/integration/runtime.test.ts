import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { compress, findHostParts, RUNTIME_SCRIPT, writeCpio } from '@boottorrent/initrd-builder';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ClientTable, hostSearchRoots, startHttpServer, type HttpServer } from '../../src/index.js';
import { runtimeService, type RuntimeService } from '../../src/runtime.js';

/**
 * The runtime fetch end to end on loopback: the real script phase-1's /init runs (RUNTIME_SCRIPT),
 * under the real static busybox (wget, sha256sum, httpd, xz, cpio), against the real HTTP server
 * with the runtime routes, and peers that are other script runs or deliberately bad servers.
 */
let dir: string;
let bin: string;
let busybox: string;
let runtimeFile: string;
let runtime: Buffer;
let parts: number[];
const files = { 'usr/bin/node': Buffer.from('#!/bin/sh\necho pretend node\n'), 'agent.mjs': Buffer.alloc(0) };

async function xzArchive(entries: Record<string, Buffer>): Promise<Buffer> {
  return buffer(
    compress(
      writeCpio(
        Object.entries(entries).map(([path, source]) => ({ path, type: 'file', mode: 0o755, source })),
      ),
      'xz',
      { x86Filter: false },
    ),
  );
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bt-runtime-'));
  busybox = (await findHostParts({ searchRoots: await hostSearchRoots() })).busybox;
  bin = join(dir, 'bin');
  await mkdir(bin);
  await run(busybox, ['--install', '-s', bin]);
  // Two archives, as phase-1's runtime has (node, then agent): 300 KB of incompressible bytes.
  files['agent.mjs'] = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 2654435761) >>> 24));
  const a = await xzArchive({ 'usr/bin/node': files['usr/bin/node'] });
  const b = await xzArchive({ 'agent.mjs': files['agent.mjs'] });
  runtime = Buffer.concat([a, b]);
  parts = [a.length, b.length];
  runtimeFile = join(dir, 'runtime.cpio.xz');
  await writeFile(runtimeFile, runtime);
  const sha = createHash('sha256').update(runtime).digest('hex');
  await writeFile(join(dir, 'info'), `sha256=${sha}\nname=runtime.cpio.xz\nparts=${parts.join(' ')}\n`);
  await writeFile(join(dir, 'runtime.sh'), RUNTIME_SCRIPT);
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let http: HttpServer;
let svc: RuntimeService;
let clients: ClientTable;
const cleanups: (() => Promise<void> | void)[] = [];

async function startServer(
  o: {
    serverSlots?: number;
    haveGraceMs?: number;
    maxWaitMs?: number;
    suspectMs?: number;
    busyHolderWaitMs?: number;
  } = {},
) {
  clients = new ClientTable();
  svc = runtimeService({
    runtime: { path: runtimeFile, sha256: '', size: runtime.length, parts },
    clients,
    emit: () => {},
    serverSlots: o.serverSlots ?? 2,
    peerSlots: 1,
    haveGraceMs: o.haveGraceMs,
    maxWaitMs: o.maxWaitMs,
    suspectMs: o.suspectMs,
    busyHolderWaitMs: o.busyHolderWaitMs,
  });
  http = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    baseUrl: 'http://127.0.0.1:1',
    phase1: { kernel: runtimeFile, initrds: [] },
    cmdline: '',
    webSeedFiles: new Map(),
    clients,
    routes: svc.routes,
    onRequest: (e) => svc.onRequest(e),
  });
  cleanups.push(() => http.close());
}

beforeEach(() => startServer());
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? -1, out }));
  });
}

/** One machine's runtime fetch: the real script under busybox sh; its httpd is stopped afterwards. */
async function client(mac: string) {
  const root = await mkdtemp(join(dir, 'root-'));
  const work = join(root, 'run');
  const port = await freePort();
  const r = await run(busybox, ['sh', join(dir, 'runtime.sh')], {
    PATH: bin,
    BT_RUNTIME_URL: `http://127.0.0.1:${http.port}/runtime/runtime.cpio.xz`,
    BT_MAC: mac,
    BT_INFO: join(dir, 'info'),
    BT_DIR: work,
    BT_ROOT: root,
    BT_PORT: String(port),
  });
  const pid = Number(await readFile(join(work, 'httpd.pid'), 'utf8').catch(() => '0'));
  if (pid) cleanups.push(() => void process.kill(pid));
  return { ...r, root, port };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** A peer the test controls; it registers itself with the server as a holder. */
async function badPeer(mac: string, serve: Parameters<typeof createServer>[1]) {
  let requests = 0;
  const s: Server = createServer((req, res) => {
    requests++;
    serve!(req, res);
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        s.closeAllConnections();
        s.close(() => r());
      }),
  );
  const port = (s.address() as AddressInfo).port;
  await register(mac, port);
  return { requests: () => requests };
}

async function register(mac: string, port: number) {
  const r = await fetch(`http://127.0.0.1:${http.port}/api/v1/runtime/${mac}/have`, {
    method: 'POST',
    body: `port=${port}`,
  });
  expect(r.status).toBe(204);
}

async function expectUnpacked(root: string) {
  for (const [path, data] of Object.entries(files))
    expect((await readFile(join(root, path))).equals(data), path).toBe(true);
}

describe('the runtime fetch /init runs (busybox, real server, real peers)', () => {
  it('fetches from the server, checks, unpacks both archives, then serves the next client', async () => {
    const a = await client('02:00:00:00:00:01');
    expect(a.code, a.out).toBe(0);
    await expectUnpacked(a.root);
    expect(clients.get('02:00:00:00:00:01')?.runtimeSource).toBe('server');

    const b = await client('02:00:00:00:00:02');
    expect(b.code, b.out).toBe(0);
    await expectUnpacked(b.root);
    expect(b.out).toContain(`fetched from 127.0.0.1:${a.port}`);
    expect(clients.get('02:00:00:00:00:02')?.runtimeSource).toBe('127.0.0.1 (02:00:00:00:00:01)');
    const rep = svc.report();
    expect(rep.stats).toMatchObject({ fromServer: 1, fromPeers: 1, redirects: 1, holders: 2 });
    expect(rep.phase1Bytes.runtime).toBeGreaterThanOrEqual(runtime.length);
    expect(rep.phase1Bytes.runtime).toBeLessThan(2 * runtime.length);
  });

  it('detects a peer that flips a byte, discards its bytes, bans it and gets the runtime elsewhere', async () => {
    const flipped = Buffer.from(runtime);
    flipped[Math.floor(flipped.length / 2)]! ^= 0x01;
    const bad = await badPeer('02:00:00:00:00:66', (_req, res) => {
      res.writeHead(200, { 'content-length': flipped.length }).end(flipped);
    });
    const a = await client('02:00:00:00:00:01');
    expect(a.code, a.out).toBe(0);
    expect(bad.requests()).toBe(1);
    expect(a.out).toMatch(/do not match the runtime's SHA-256; discarded/);
    await expectUnpacked(a.root);
    expect(clients.get('02:00:00:00:00:01')?.runtimeSource).toBe('server');
    const rep = svc.report();
    expect(rep.stats.failures.hash).toBe(1);
    expect(rep.stats.dropped.hash).toBe(1);
    expect(rep.holders.map((h) => h.mac)).toEqual(['02:00:00:00:00:01']);

    // Banned for good: it cannot come back as a holder, and nobody is sent to it again.
    await register('02:00:00:00:00:66', 1);
    const b = await client('02:00:00:00:00:02');
    expect(b.code, b.out).toBe(0);
    expect(bad.requests()).toBe(1);
    expect(svc.report().holders.map((h) => h.mac)).not.toContain('02:00:00:00:00:66');
  });

  it('leaves a peer that stops sending, and one that is gone, for the next source', async () => {
    await http.close();
    await startServer({ maxWaitMs: 1_000 });
    const stuck = await badPeer('02:00:00:00:00:77', (_req, res) => {
      res.writeHead(200, { 'content-length': runtime.length });
      res.write(runtime.subarray(0, 1000)); // then nothing: a dead or hopelessly slow peer
    });
    await register('02:00:00:00:00:88', await freePort()); // nobody listens there
    const a = await client('02:00:00:00:00:01');
    expect(a.code, a.out).toBe(0);
    expect(stuck.requests()).toBe(1);
    expect(a.out).toMatch(/no byte from 127\.0\.0\.1:\d+ for 3s; next source \(kept 1000 of \d+ bytes\)/);
    expect(a.out).toMatch(/fetch from 127\.0\.0\.1:\d+ failed; next source/);
    // The server sent the rest, not the whole file again.
    expect(a.out).toContain('resumed at byte 1000 from server');
    await expectUnpacked(a.root);
    const rep = svc.report();
    expect(rep.phase1Bytes.runtime).toBeLessThan(runtime.length);
    expect(rep.phase1Bytes.runtime).toBeGreaterThanOrEqual(runtime.length - 1000);
    // Both are passed over for a while, not dropped: one stall does not end a holder.
    expect(rep.stats).toMatchObject({ suspected: 2, dropped: { stall: 0, error: 0 } });
    expect(rep.holders.map((h) => h.mac).sort()).toEqual([
      '02:00:00:00:00:01',
      '02:00:00:00:00:77',
      '02:00:00:00:00:88',
    ]);
  }, 30_000);

  it('resumes from the next peer after one stalls mid-file, and the file checks whole', async () => {
    const half = Math.floor(runtime.length / 2);
    const ranges: (string | undefined)[] = [];
    const good = await badPeer('02:00:00:00:00:78', (req, res) => {
      ranges.push(req.headers.range);
      const from = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? 0);
      res.writeHead(from ? 206 : 200, {
        'content-length': runtime.length - from,
        ...(from ? { 'content-range': `bytes ${from}-${runtime.length - 1}/${runtime.length}` } : {}),
      });
      res.end(runtime.subarray(from));
    });
    // Registered last, so picked first (the newest holder).
    const stuck = await badPeer('02:00:00:00:00:77', (_req, res) => {
      res.writeHead(200, { 'content-length': runtime.length });
      res.write(runtime.subarray(0, half));
    });
    const a = await client('02:00:00:00:00:01');
    expect(a.code, a.out).toBe(0);
    expect([stuck.requests(), good.requests()]).toEqual([1, 1]);
    expect(ranges).toEqual([`bytes=${half}-`]);
    expect(a.out).toMatch(new RegExp(`resumed at byte ${half} from 127\\.0\\.0\\.1:\\d+`));
    expect(a.out).toMatch(/fetched from 127\.0\.0\.1:\d+ 127\.0\.0\.1:\d+ \(resumed\), SHA-256 checked/);
    await expectUnpacked(a.root);
    expect(clients.get('02:00:00:00:00:01')?.runtimeSource).toBe('127.0.0.1 (02:00:00:00:00:78)');
    expect(svc.report().phase1Bytes.runtime).toBe(0);
  }, 30_000);

  it('discards a resumed file whose second peer flipped a byte, and fetches it whole again', async () => {
    await http.close();
    // Both bad peers stay passed over; the server serves once the client waited a second.
    await startServer({ maxWaitMs: 1_000, suspectMs: 60_000 });
    const half = Math.floor(runtime.length / 2);
    const flipped = Buffer.from(runtime);
    flipped[runtime.length - 10]! ^= 0x01;
    const liar = await badPeer('02:00:00:00:00:66', (req, res) => {
      const from = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? 0);
      res.writeHead(206, {
        'content-length': runtime.length - from,
        'content-range': `bytes ${from}-${runtime.length - 1}/${runtime.length}`,
      });
      res.end(flipped.subarray(from));
    });
    // Registered last, so picked first (the newest holder); the liar gets the resume.
    await badPeer('02:00:00:00:00:77', (_req, res) => {
      res.writeHead(200, { 'content-length': runtime.length });
      res.write(runtime.subarray(0, half));
    });
    const a = await client('02:00:00:00:00:01');
    expect(a.code, a.out).toBe(0);
    expect(liar.requests()).toBe(1);
    expect(a.out).toMatch(/do not match the runtime's SHA-256; discarded, next source from byte 0/);
    expect(a.out).toMatch(/fetched from server, SHA-256 checked/);
    await expectUnpacked(a.root);
    // Which of the two lied is unknown: neither is banned, the whole file came from the server.
    const rep = svc.report();
    expect(rep.stats.failures).toMatchObject({ stall: 1, error: 1, hash: 0 });
    expect(rep.phase1Bytes.runtime).toBeGreaterThanOrEqual(runtime.length);
    expect(rep.phase1Bytes.runtime).toBeLessThan(2 * runtime.length);
  }, 30_000);

  it('sends a client to a holder whose machine is not busy with its OS before a newer one that is', async () => {
    const ask = (mac: string) =>
      fetch(`http://127.0.0.1:${http.port}/runtime/runtime.cpio.xz?mac=${mac}`, { redirect: 'manual' });
    const [idle, busy] = ['02:00:00:00:00:0a', '02:00:00:00:00:0b'];
    await register(idle, 1111);
    await register(busy, 2222); // the newest, but its agent downloads the OS (the agent's report)
    clients.report(busy, { phase: 'downloading' });
    const a = await ask('02:00:00:00:00:01');
    expect(a.status).toBe(302);
    expect(a.headers.get('location')).toMatch(/:1111\//);
    // 1's copy is under way (1 will be an idle holder soon): 2, asking for the first time, waits for
    // it rather than go to the busy one.
    const b = await ask('02:00:00:00:00:02');
    expect(b.status).toBe(503);
  });

  it('frees the holder a machine was sent to when that machine boots again (GET /boot.ipxe)', async () => {
    const ask = (mac: string) =>
      fetch(`http://127.0.0.1:${http.port}/runtime/runtime.cpio.xz?mac=${mac}`, { redirect: 'manual' });
    await register('02:00:00:00:00:0a', 1111); // the only holder, one slot (peerSlots: 1)
    const a = await ask('02:00:00:00:00:01');
    expect(a.headers.get('location')).toMatch(/:1111\//);
    // 1 never reports; 2 finds the holder's slot taken (and a copy under way: it waits).
    expect((await ask('02:00:00:00:00:02')).status).toBe(503);
    // 1 reboots: its boot loader fetches boot.ipxe again. The slot it had is free at once.
    const boot = await fetch(`http://127.0.0.1:${http.port}/boot.ipxe?mac=02:00:00:00:00:01`);
    expect(boot.status).toBe(200);
    await boot.text();
    const b = await ask('02:00:00:00:00:02');
    expect(b.status).toBe(302);
    expect(b.headers.get('location')).toMatch(/:1111\//);
    expect(svc.report().stats).toMatchObject({ holders: 1, dropped: { left: 0 } });
  });

  it('sends one copy from the server to clients that ask at once; the others wait for its holder', async () => {
    await http.close();
    // Bounds far above any load-induced delay: the verdict is about the order, not the clock.
    await startServer({ serverSlots: 1, haveGraceMs: 60_000, maxWaitMs: 60_000 });
    const macs = ['02:00:00:00:00:01', '02:00:00:00:00:02', '02:00:00:00:00:03'];
    const rs = await Promise.all(macs.map((m) => client(m)));
    for (const r of rs) {
      expect(r.code, r.out).toBe(0);
      await expectUnpacked(r.root);
    }
    const rep = svc.report();
    expect(rep.stats).toMatchObject({ fromServer: 1, fromPeers: 2 });
    expect(rep.phase1Bytes.runtime).toBeLessThan(2 * runtime.length);
    expect(rep.stats.holders).toBe(3);
    expect(macs.every((m) => clients.get(m)?.runtimeSource)).toBe(true);
  }, 60_000);
});
