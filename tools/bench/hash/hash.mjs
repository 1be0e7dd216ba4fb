#!/usr/bin/env node
// Hash benchmark (issue 5): how fast does @boottorrent/seeder's createTorrent hash a big OS image,
// against mktorrent (Debian, -t 2, the reference) and create-torrent (npm), same file, same run.
// Also: a hash-cache hit, and seeding start with and without verification.
//
//   npx nx build @boottorrent/seeder && node tools/bench/hash/hash.mjs [--mib 1024] [--runs 3]
//
// Prints a Markdown table; ratios are wall-clock speed relative to mktorrent -t 2 (>1 = faster).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, rmSync, writeSync, closeSync, readFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import createTorrentLib from 'create-torrent';
import { createTorrent, startSeeder } from '@boottorrent/seeder';

const { values } = parseArgs({
  options: { mib: { type: 'string', default: '1024' }, runs: { type: 'string', default: '3' } },
});
const MIB = Number(values.mib);
const RUNS = Number(values.runs);
const PIECE = 1 << 20;

const root = mkdtempSync(join(tmpdir(), 'bt-bench-hash-'));
const dir = join(root, 'os');
spawnSync('mkdir', ['-p', dir]);
const file = join(dir, 'disk.img');
const fd = openSync(file, 'w');
const chunk = randomBytes(16 << 20);
for (let i = 0; i < MIB / 16; i++) {
  chunk.writeUInt32LE(i, 0); // every 16 MiB block differs
  writeSync(fd, chunk);
}
closeSync(fd);
if (readFileSync(file).length !== MIB << 20) throw new Error('short write'); // also warms the page cache: we measure hashing, not the disk

// The machine is shared: report the best of RUNS (least disturbed) wall time, and CPU time too
// (user+sys of every thread, or of the child for mktorrent), which load barely moves.
async function time(fn) {
  let best = { wall: Infinity, cpu: Infinity };
  for (let i = 0; i < RUNS; i++) {
    const c = process.cpuUsage();
    const t = performance.now();
    const childCpu = (await fn()) ?? 0;
    const wall = performance.now() - t;
    const u = process.cpuUsage(c);
    const cpu = childCpu || (u.user + u.system) / 1000;
    if (wall < best.wall) best = { wall, cpu };
  }
  return best;
}

/** Runs a command under bash and returns its children's user+sys CPU ms (bash `times`). */
function runTimed(cmd, args) {
  const q = (a) => `'${a.replace(/'/g, "'\\''")}'`;
  const r = spawnSync('bash', ['-c', `${[cmd, ...args].map(q).join(' ')} >/dev/null || exit 1; times`], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(r.stderr);
  const lines = r.stdout.trim().split('\n');
  const [u, s] = lines
    .at(-1)
    .split(/\s+/)
    .map((x) => {
      const m = /(\d+)m([\d.]+)s/.exec(x);
      return Number(m[1]) * 60000 + Number(m[2]) * 1000;
    });
  return u + s;
}

const mktorrent = spawnSync('sh', ['-c', 'command -v mktorrent'], { encoding: 'utf8' }).stdout.trim();
if (!mktorrent) throw new Error('mktorrent not found: run tools/setup.sh');
const rows = [];
const mk = await time(() => {
  rmSync(join(root, 'm.torrent'), { force: true });
  return runTimed(mktorrent, ['-t', '2', '-l', '20', '-a', 'http://x/a', '-o', join(root, 'm.torrent'), dir]);
});
rows.push(['mktorrent -t 2 -l 20 (reference)', mk]);
const mk1 = await time(() => {
  rmSync(join(root, 'm.torrent'), { force: true });
  return runTimed(mktorrent, ['-t', '1', '-l', '20', '-a', 'http://x/a', '-o', join(root, 'm.torrent'), dir]);
});
rows.push(['mktorrent -t 1 -l 20', mk1]);
let created;
const ours = await time(async () => {
  created = await createTorrent(dir);
});
rows.push([`@boottorrent/seeder createTorrent (${cpus().length} threads)`, ours]);
const ours1 = await time(async () => void (await createTorrent(dir, { threads: 1 })));
rows.push(['@boottorrent/seeder createTorrent (threads: 1)', ours1]);
const lib = await time(
  () =>
    new Promise((resolve, reject) =>
      createTorrentLib(dir, { pieceLength: PIECE, createdBy: '', creationDate: 0 }, (e) =>
        e ? reject(e) : resolve(undefined),
      ),
    ),
);
rows.push(['create-torrent (npm), 1 MiB pieces', lib]);
const cacheFile = join(root, 'cache.json');
await createTorrent(dir, { cacheFile });
const cached = await time(async () => void (await createTorrent(dir, { cacheFile })));
rows.push(['createTorrent, hash-cache hit', cached]);
const seedStart = (skipVerify) =>
  time(async () => {
    const s = await startSeeder({
      torrents: [{ torrent: created.torrent, dir }],
      port: 0,
      host: '127.0.0.1',
      skipVerify,
    });
    await s.close();
  });
rows.push(['startSeeder, verifying the files', await seedStart(false)]);
rows.push(['startSeeder, skipVerify (hashes from cache)', await seedStart(true)]);

const load = loadavg()[0].toFixed(1);
console.log(
  `\n${MIB} MiB file, 1 MiB pieces, best of ${RUNS} runs, ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load ${load}, Node ${process.version}\n`,
);
console.log('| what | wall | speed vs mktorrent -t 2 | CPU (user+sys) |');
console.log('|---|---:|---:|---:|');
for (const [name, m] of rows) {
  console.log(
    `| ${name} | ${(m.wall / 1000).toFixed(3)} s | ${(mk.wall / m.wall).toFixed(2)}× | ${(m.cpu / 1000).toFixed(2)} s |`,
  );
}
console.log(
  `\nRESULT createTorrent/mktorrent-t2 speed ratio: ${(mk.wall / ours.wall).toFixed(2)} (goal >= 1.00)`,
);
rmSync(root, { recursive: true, force: true });
