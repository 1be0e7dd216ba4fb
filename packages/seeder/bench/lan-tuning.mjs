#!/usr/bin/env node
// Before/after measurement of the LAN tuning of download() (all interested peers unchoked, deep request
// pipelines, rarest first) against webtorrent's defaults (10 upload slots, 2-request slow start,
// sequential), on a loopback swarm: 1 seeder (capped, like a server link shared by a room) + N downloader
// processes found through @boottorrent/tracker. Alternates the two modes, median of --runs.
//
//   npx nx run-many -t build -p @boottorrent/seeder @boottorrent/tracker && node packages/seeder/bench/lan-tuning.mjs [--mib 64] [--peers 4] [--runs 3] [--cap 20]
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { createTorrent, startSeeder } from '../dist/index.js';

const { values } = parseArgs({
  options: {
    mib: { type: 'string', default: '64' },
    peers: { type: 'string', default: '4' },
    runs: { type: 'string', default: '3' },
    cap: { type: 'string', default: '20' },
  },
});
const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '../test/fixtures');
const PEER = join(FIXTURES, 'peer.mjs');
const root = mkdtempSync(join(tmpdir(), 'bt-lan-tuning-'));
const osDir = join(root, 'srv', 'os');
mkdirSync(osDir, { recursive: true });
writeFileSync(join(osDir, 'disk.img'), randomBytes(Number(values.mib) << 20));
const created = await createTorrent(osDir);
writeFileSync(join(root, 'os.torrent'), created.torrent);
// our tracker in its own process (the seeder package does not import the tracker package)
const tracker = spawn(process.execPath, [join(FIXTURES, 'tracker.mjs')], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const ports = await new Promise((resolve) =>
  tracker.stdout.once('data', (d) => resolve(JSON.parse(String(d)))),
);
const announce = [`http://127.0.0.1:${ports.httpPort}/announce`, `udp://127.0.0.1:${ports.udpPort}`];

async function run(lanTuning, n) {
  const seeder = await startSeeder({
    torrents: [{ torrent: created.torrent, dir: osDir }],
    port: 0,
    host: '127.0.0.1',
    announce,
    uploadLimit: Number(values.cap) << 20,
  });
  const t0 = performance.now();
  const times = await Promise.all(
    Array.from(
      { length: Number(values.peers) },
      (_, i) =>
        new Promise((resolve, reject) => {
          const arg = {
            torrent: join(root, 'os.torrent'),
            dir: join(root, `dl-${n}-${i}`),
            announce,
            lanTuning,
            exitWhenDone: false,
            serverPeers: [`127.0.0.1:${seeder.port}`],
          };
          const p = spawn(process.execPath, [PEER, JSON.stringify(arg)], {
            stdio: ['ignore', 'pipe', 'inherit'],
          });
          let buf = '';
          p.stdout.on('data', (d) => {
            buf += d;
            if (buf.includes('"event":"done"')) {
              resolve({
                ms: performance.now() - t0,
                line: JSON.parse(buf.split('\n').find((l) => l.includes('"event":"done"'))),
                p,
              });
            }
          });
          p.once('exit', (c) => reject(new Error(`peer exited ${c}`)));
        }),
    ),
  );
  for (const t of times) t.p.kill();
  await seeder.close();
  const fromServer = times.reduce((s, t) => s + t.line.fromServer, 0);
  return {
    all: Math.max(...times.map((t) => t.ms)),
    serverShare: fromServer / (created.size * times.length),
  };
}

const res = { tuned: [], default: [] };
for (let r = 0; r < Number(values.runs); r++) {
  for (const mode of r % 2 ? ['default', 'tuned'] : ['tuned', 'default'])
    res[mode].push(await run(mode === 'tuned', `${r}-${mode}`));
}
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(
  `\n${values.mib} MiB, 1 seeder capped at ${values.cap} MiB/s + ${values.peers} downloader processes, loopback, median of ${values.runs}\n`,
);
console.log('| mode | all peers done | bytes from the server |');
console.log('|---|---:|---:|');
for (const mode of ['default', 'tuned']) {
  console.log(
    `| ${mode} | ${(med(res[mode].map((x) => x.all)) / 1000).toFixed(2)} s | ${(100 * med(res[mode].map((x) => x.serverShare))).toFixed(0)} % |`,
  );
}
console.log(
  `\nRESULT tuned/default time ratio: ${(med(res.tuned.map((x) => x.all)) / med(res.default.map((x) => x.all))).toFixed(2)}`,
);
tracker.kill();
rmSync(root, { recursive: true, force: true });
