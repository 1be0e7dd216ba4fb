// DHCP lease benchmark: @boottorrent/pxe (server mode) vs Debian's dnsmasq-base, same namespaces,
// same client. 1,000 distinct MACs each do DISCOVER→OFFER→REQUEST→ACK, 32 in flight. Prints
// leases/s, p50/p99 answer latency and the ratios. Root only (network namespaces):
//   npx nx build @boottorrent/pxe @boottorrent/lab && node tools/bench/dhcp/bench.mjs [--macs 1000] [--rounds 3]
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { createNetns } from '@boottorrent/lab';

const self = fileURLToPath(import.meta.url);
const DIST = fileURLToPath(new URL('../../../packages/pxe/dist/index.js', import.meta.url));
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const MACS = arg('macs', 1000);
const ROUNDS = arg('rounds', 3);
const INFLIGHT = arg('inflight', 32);
const SETTINGS = process.argv.includes('--inflight') ? [INFLIGHT] : [1, 32];
const RANGE = ['10.77.1.0', '10.77.8.255'];

if (process.argv[2] === '--ours') {
  // Server side, inside the server namespace.
  const { startDhcpServer, staticPlan } = await import(DIST);
  const s = await startDhcpServer({
    interface: 'br0',
    serverAddress: '10.77.0.1',
    mode: 'server',
    range: { start: RANGE[0], end: RANGE[1] },
    leaseFile: process.argv[3],
    planFor: staticPlan({ scriptUrl: 'http://10.77.0.1:8080/boot.ipxe' }),
  });
  console.log('ready');
  process.on('SIGTERM', () => s.close().then(() => process.exit(0)));
} else if (process.argv[2] === '--client') {
  console.log(JSON.stringify(await client()));
  process.exit(0);
} else {
  await main();
}

function packet(type, mac, xid, extra = []) {
  const b = Buffer.alloc(240);
  b[0] = 1;
  b[1] = 1;
  b[2] = 6;
  b.writeUInt32BE(xid, 4);
  b.writeUInt16BE(0x8000, 10); // broadcast flag: both servers broadcast the answer
  mac.copy(b, 28);
  b.writeUInt32BE(0x63825363, 236);
  return Buffer.concat([b, Buffer.from([53, 1, type, ...extra, 255])]);
}

function option(buf, code) {
  for (let i = 240; i < buf.length;) {
    const c = buf[i];
    if (c === 0) {
      i++;
      continue;
    }
    if (c === 255) break;
    if (c === code) return buf.subarray(i + 2, i + 2 + buf[i + 1]);
    i += 2 + buf[i + 1];
  }
  return null;
}

async function client() {
  const require = createRequire(DIST);
  const { setsockopt } = require('sockopt');
  const sock = createSocket({ type: 'udp4', reuseAddr: true });
  await new Promise((r) => sock.bind(68, '0.0.0.0', r));
  const state = Object.getOwnPropertySymbols(sock).find((s) => s.description === 'state symbol');
  setsockopt(
    { _handle: { fd: sock[state].handle.fd } },
    1,
    62,
    Number(readFileSync('/sys/class/net/cli0/ifindex', 'utf8')),
  );
  sock.setBroadcast(true);
  const waiting = new Map();
  sock.on('message', (m) => {
    if (m.length < 240 || m[0] !== 2) return;
    const w = waiting.get(m.readUInt32BE(4));
    if (w) w(m);
  });
  const latencies = [];
  let retries = 0;
  let naks = 0;
  let done = 0;
  const ask = async (pkt, xid) => {
    for (let attempt = 0; ; attempt++) {
      const t0 = process.hrtime.bigint();
      const reply = await new Promise((resolve) => {
        const timer = setTimeout(() => resolve(null), 1000);
        waiting.set(xid, (m) => {
          clearTimeout(timer);
          resolve(m);
        });
        sock.send(pkt, 67, '255.255.255.255');
      });
      waiting.delete(xid);
      if (reply) {
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        return reply;
      }
      retries++;
      if (attempt === 5) throw new Error('no answer after 6 tries');
    }
  };
  const macs = Array.from({ length: MACS }, (_, i) => Buffer.from([0x52, 0x54, 0xbe, 0, i >> 8, i & 255]));
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < macs.length) {
      const mac = macs[next++];
      const xid = randomBytes(4).readUInt32BE(0);
      const offer = await ask(packet(1, mac, xid), xid);
      const ip = [...offer.subarray(16, 20)];
      const sid = [...option(offer, 54)];
      const ack = await ask(packet(3, mac, xid + 1, [50, 4, ...ip, 54, 4, ...sid]), xid + 1);
      const type = option(ack, 53)?.[0];
      if (type === 6) {
        // NAK: start over with a new DISCOVER, as a real client does (RFC 2131 §4.4.1).
        naks++;
        macs.push(mac);
        continue;
      }
      if (type !== 5) throw new Error(`expected an ACK, got message type ${type}`);
      done++;
    }
  };
  await Promise.all(Array.from({ length: INFLIGHT }, worker));
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
  sock.close();
  if (done !== MACS) throw new Error(`only ${done} of ${MACS} leases`);
  return { leasesPerSecond: MACS / seconds, p50: pct(50), p99: pct(99), retries, naks };
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'btpxe-bench-'));
  const results = Object.fromEntries(SETTINGS.map((n) => [n, { ours: [], dnsmasq: [] }]));
  // The server's namespace holds br0 (10.77.0.1/16); the client's cli0 is plugged into it.
  const sns = await createNetns({ prefix: 'btpxe-bench', bridge: { addresses: ['10.77.0.1/16'] } });
  try {
    const cns = await sns.addHost({ suffix: 'c', iface: 'cli0', port: 'port0' });
    for (let round = 0; round < ROUNDS; round++) {
      for (const who of ['ours', 'dnsmasq']) {
        for (const inflight of SETTINGS) {
          const leaseFile = join(dir, `${who}-${round}-${inflight}.leases`);
          const server =
            who === 'ours'
              ? sns.spawn(process.execPath, [self, '--ours', leaseFile], {
                  stdio: ['ignore', 'pipe', 'inherit'],
                })
              : sns.spawn(
                  'dnsmasq',
                  [
                    '--no-daemon',
                    '--conf-file=/dev/null',
                    '--pid-file=',
                    '--port=0',
                    '--user=root',
                    '--interface=br0',
                    '--bind-interfaces',
                    `--dhcp-range=${RANGE[0]},${RANGE[1]},255.255.0.0,1h`,
                    '--dhcp-authoritative',
                    '--no-ping',
                    `--dhcp-leasefile=${leaseFile}`,
                    '--dhcp-lease-max=100000',
                    '--quiet-dhcp',
                  ],
                  { stdio: ['ignore', 'pipe', 'ignore'] },
                );
          if (who === 'ours') await new Promise((r) => server.stdout.once('data', r));
          else await new Promise((r) => setTimeout(r, 500));
          try {
            const out = await cns.run(process.execPath, [
              self,
              '--client',
              '--macs',
              String(MACS),
              '--inflight',
              String(inflight),
            ]);
            results[inflight][who].push(JSON.parse(out));
          } finally {
            server.kill('SIGTERM');
            await new Promise((r) => server.once('exit', r));
          }
        }
      }
    }
  } finally {
    await sns.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const median = (xs, k) => xs.map((x) => x[k]).sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const row = (rs) => ({
    lps: median(rs, 'leasesPerSecond'),
    p50: median(rs, 'p50'),
    p99: median(rs, 'p99'),
    retries: rs.reduce((n, r) => n + r.retries, 0),
    naks: rs.reduce((n, r) => n + r.naks, 0),
  });
  console.log(
    `DHCP leases: ${MACS} distinct MACs, DISCOVER→OFFER→REQUEST→ACK, median of ${ROUNDS} rounds (node ${process.version})`,
  );
  console.log(
    '| clients in flight | server | leases/s | p50 answer ms | p99 answer ms | retransmits | NAKs |',
  );
  console.log('|---|---|---|---|---|---|---|');
  const ratios = [];
  for (const n of SETTINGS) {
    const o = row(results[n].ours);
    const d = row(results[n].dnsmasq);
    for (const [name, r] of [
      ['@boottorrent/pxe', o],
      ['dnsmasq-base 2.90', d],
    ]) {
      console.log(
        `| ${n} | ${name} | ${r.lps.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.retries} | ${r.naks} |`,
      );
    }
    ratios.push(
      `${n} in flight: leases/s ours/dnsmasq ${(o.lps / d.lps).toFixed(2)}x, p99 dnsmasq/ours ${(d.p99 / o.p99).toFixed(2)}x`,
    );
  }
  for (const r of ratios) console.log(`ratio (>= 1.0: ours as fast or faster) ${r}`);
}
