// A small process that runs inside a network namespace (`ip netns exec NS node agent.mjs BUNDLE`)
// on behalf of a test: it starts DHCP servers from the bundled package, opens raw UDP sockets,
// serves HTTP files and fires fuzz packets. JSON lines: requests on stdin, answers/events on stdout.
import { createSocket } from 'node:dgram';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';

/* global AbortController */
const bundle = process.argv[2];
const pxe = await import(bundle);
const require = createRequire(bundle);
const { setsockopt } = require('sockopt');

const servers = new Map();
const controllers = new Map();
const sockets = new Map();
const https = new Map();
const out = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);

function ifindex(name) {
  return Number(readFileSync(`/sys/class/net/${name}/ifindex`, 'utf8').trim());
}

function planOf(p) {
  const base = pxe.staticPlan(p.static);
  const ignore = new Set(p.ignoreMacs ?? []);
  return async (m) => {
    if (p.delayMs) await new Promise((r) => setTimeout(r, p.delayMs));
    if (ignore.has(m.mac)) return null;
    out({ event: 'machine', machine: m });
    return base(m);
  };
}

// Seeded xorshift so a failing fuzz run can be replayed.
function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

function mutate(tpl, rand) {
  const b = Buffer.from(tpl);
  const kind = Math.floor(rand() * 6);
  if (kind === 0) return b.subarray(0, Math.floor(rand() * b.length));
  if (kind === 1) {
    for (let i = 0; i < 1 + rand() * 8; i++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
    return b;
  }
  if (kind === 2) {
    // corrupt an option length in the options area
    const at = 240 + Math.floor(rand() * Math.max(1, b.length - 240));
    b[at] = Math.floor(rand() * 256);
    return b;
  }
  if (kind === 3)
    return Buffer.concat([b, Buffer.alloc(Math.floor(rand() * 1400), Math.floor(rand() * 256))]);
  if (kind === 4) {
    const r = Buffer.alloc(Math.floor(rand() * 700));
    for (let i = 0; i < r.length; i++) r[i] = Math.floor(rand() * 256);
    return r;
  }
  // overload games: option 52 pointing at fields full of option 52
  b[240] = 52;
  b[241] = 1;
  b[242] = 1 + Math.floor(rand() * 3);
  for (let i = 44; i < 233; i += 3) {
    b[i] = 52;
    b[i + 1] = 1;
    b[i + 2] = 3;
  }
  return b;
}

const ops = {
  async startServer({ name, opts }) {
    const { plan, abortable, log, ...rest } = opts;
    const controller = new AbortController();
    const extra = {};
    if (abortable) extra.signal = controller.signal;
    if (log) {
      const at = (level) => (msg, fields) => out({ event: 'log', name, level, msg, fields });
      extra.logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
    }
    const s = await pxe.startDhcpServer({ ...rest, ...extra, planFor: planOf(plan) });
    for (const ev of ['lease', 'boot', 'ignored', 'dropped'])
      s.on(ev, (payload) => out({ event: 'server', name, type: ev, payload }));
    servers.set(name, s);
    controllers.set(name, controller);
    return {};
  },
  abortServer({ name }) {
    controllers.get(name).abort();
    return {};
  },
  async disposeServer({ name }) {
    const s = servers.get(name);
    await s[Symbol.asyncDispose]();
    await s.close();
    servers.delete(name);
    return {};
  },
  async stopServer({ name }) {
    await servers.get(name)?.close();
    servers.delete(name);
    return {};
  },
  leases: ({ name }) => servers.get(name).leases(),
  stats: ({ name }) => servers.get(name).stats(),
  async udpOpen({ name, port, iface }) {
    const s = createSocket({ type: 'udp4', reuseAddr: true });
    await new Promise((res, rej) => {
      s.once('error', rej);
      s.bind(port, '0.0.0.0', res);
    });
    if (iface) setsockopt(s, 1, 62, ifindex(iface));
    s.setBroadcast(true);
    s.on('message', (m, r) =>
      out({ event: 'udp', name, data: m.toString('base64'), from: `${r.address}:${r.port}` }),
    );
    sockets.set(name, s);
    return { port: s.address().port };
  },
  async udpSend({ name, data, address, port }) {
    const s = sockets.get(name);
    await new Promise((res, rej) =>
      s.send(Buffer.from(data, 'base64'), port, address, (e) => (e ? rej(e) : res())),
    );
    return {};
  },
  async udpClose({ name }) {
    await new Promise((r) => sockets.get(name)?.close(r));
    sockets.delete(name);
    return {};
  },
  async httpServe({ name, address, port, files }) {
    const srv = createServer((req, res) => {
      const body = files[req.url ?? ''];
      out({ event: 'http', name, url: req.url, status: body === undefined ? 404 : 200 });
      if (body === undefined) return res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'text/plain' }).end(body);
    });
    await new Promise((r) => srv.listen(port, address, r));
    https.set(name, srv);
    return { port: srv.address().port };
  },
  async fuzz({ name, count, seed, address, port, templates }) {
    const s = sockets.get(name);
    const tpls = templates.map((t) => Buffer.from(t, 'base64'));
    const rand = rng(seed);
    const t0 = Date.now();
    let sent = 0;
    // Bounded batches so the kernel queues are not flooded faster than a slow server can read.
    while (sent < count) {
      const batch = [];
      for (let i = 0; i < 200 && sent < count; i++, sent++) {
        const pkt = mutate(tpls[Math.floor(rand() * tpls.length)], rand);
        batch.push(new Promise((res) => s.send(pkt, port, address, () => res())));
      }
      await Promise.all(batch);
      await new Promise((r) => setTimeout(r, 4));
    }
    return { sent, ms: Date.now() - t0 };
  },
};

const rl = createInterface({ input: process.stdin });
rl.on('line', async (line) => {
  const req = JSON.parse(line);
  if (req.op === 'exit') {
    for (const s of servers.values()) await s.close();
    for (const s of sockets.values()) s.close();
    for (const h of https.values()) h.close();
    process.exit(0);
  }
  try {
    out({ id: req.id, ok: true, result: await ops[req.op](req) });
  } catch (e) {
    out({ id: req.id, ok: false, error: { message: e.message, code: e.code, hint: e.hint } });
  }
});
rl.on('close', () => process.exit(0));
out({ event: 'ready' });
