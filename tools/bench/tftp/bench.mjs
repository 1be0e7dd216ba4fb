#!/usr/bin/env node
// TFTP throughput: @boottorrent/tftp vs tftpd-hpa (Debian's in.tftpd, unpacked by tools/setup.sh), same
// 50 MiB file, same client, same machine, loopback, high ports. Not a test: run it by hand.
//
//   npx nx build @boottorrent/tftp && node tools/bench/tftp/bench.mjs [--runs 5] [--client fetch|atftp|curl] [--write]
//
// Client: `fetch` (default) is fetch.c beside this file, compiled with gcc: a minimal RFC 1350/2347/7440
// reader that discards the data and prints a position-weighted checksum, so the client is not what is
// measured (atftp spends ~15 µs per packet and caps any window). atftp and curl can be chosen instead.
// Rows: blksize 512 / 1468 / 8192 / 65464 lock-step on both servers, and ours with windowsize 16 (as
// granted, read from the OACK by tftp-fetch: the server grants what fits a default 212992-byte client
// socket buffer, 12 blocks of 8192 and 3 of 65464). Each cell is the median of --runs downloads, the
// servers interleaved so load from elsewhere hits both alike. --write replaces the "## tftp" section
// of docs/performance.md with the table.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../../..');
const args = process.argv.slice(2);
const opt = (name, def) => (args.includes(name) ? args[args.indexOf(name) + 1] : def);
const RUNS = Number(opt('--runs', '5'));
const CLIENT = opt('--client', 'fetch');
const SIZE = 50 * 1024 * 1024;
const HPA = join(repo, '.cache/deb/tftpd-hpa/usr/sbin/in.tftpd');
const HPA_PORT = 16900 + Math.floor(Math.random() * 50);
const OUR_PORT = HPA_PORT + 50;

if (!existsSync(HPA)) throw new Error(`${HPA} missing: run bash tools/setup.sh`);
if (!existsSync(join(repo, 'packages/tftp/dist/index.js')))
  throw new Error('build first: npx nx build @boottorrent/tftp');
const which = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim();
if (CLIENT !== 'fetch' && !which(CLIENT))
  throw new Error(`${CLIENT} is not installed: run bash tools/setup.sh`);

const dir = mkdtempSync(join(tmpdir(), 'bt-tftp-bench-'));
const file = join(dir, 'fifty.bin');
const content = randomBytes(SIZE);
writeFileSync(file, content, { mode: 0o644 });
let expectedSum = 0;
for (let i = 0, w = 1; i < content.length; i++, w = w === 251 ? 1 : w + 1)
  expectedSum = (expectedSum + content[i] * w) >>> 0;
const FETCH = join(dir, 'tftp-fetch');
if (CLIENT === 'fetch') {
  const cc = spawnSync('gcc', ['-O2', '-o', FETCH, join(here, 'fetch.c')], { encoding: 'utf8' });
  if (cc.status !== 0) throw new Error(`gcc failed (apt-get install gcc): ${cc.stderr}`);
}
chmodSync(dir, 0o755); // tftpd-hpa reads it as nobody
const children = [];
let cleaned = false;
const cleanup = () => {
  if (cleaned) return;
  cleaned = true;
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
};
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));

function startHpa() {
  // -L foreground, -s chroot into the root (as root; then -u nobody drops privileges), -B max blksize.
  const root = process.getuid?.() === 0;
  const a = [
    '-L',
    '-4',
    '-a',
    `127.0.0.1:${HPA_PORT}`,
    '-B',
    '65464',
    ...(root ? ['-u', 'nobody', '-s', dir] : [dir]),
  ];
  const c = spawn(HPA, a, { stdio: 'ignore' });
  children.push(c);
}
async function startOurs() {
  const c = spawn(process.execPath, [join(here, 'server-child.mjs'), dir, String(OUR_PORT)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(c);
  await new Promise((res, rej) => {
    c.stdout.once('data', res);
    c.once('exit', (code) => rej(new Error(`our server exited with ${code}`)));
  });
}

function download(port, blksize, windowsize) {
  const out = existsSync('/dev/shm') ? '/dev/shm/bt-tftp-bench.out' : join(dir, 'out.bin'); // no disk writeback in the timing
  rmSync(out, { force: true });
  let cmd = CLIENT;
  let a;
  if (CLIENT === 'fetch')
    [cmd, a] = [FETCH, ['127.0.0.1', String(port), 'fifty.bin', String(blksize), String(windowsize)]];
  else if (CLIENT === 'curl')
    a = ['-sS', '--fail', '--tftp-blksize', String(blksize), '-o', out, `tftp://127.0.0.1:${port}/fifty.bin`];
  else
    a = [
      '-g',
      '-r',
      'fifty.bin',
      '-l',
      out,
      '--option',
      `blksize ${blksize}`,
      ...(windowsize > 1 ? ['--option', `windowsize ${windowsize}`] : []),
      '127.0.0.1',
      String(port),
    ];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, a, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000, encoding: 'utf8' });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const [bytes, sum, granted] = r.stdout.trim().split(' ');
  const ok =
    CLIENT === 'fetch'
      ? `${bytes} ${sum}` === `${SIZE} ${expectedSum}`
      : r.status === 0 && statSync(out).size === SIZE;
  if (r.status !== 0 || !ok)
    throw new Error(
      `${CLIENT} failed on port ${port} (blksize ${blksize}, windowsize ${windowsize}): ${r.stdout} ${r.stderr}`,
    );
  rmSync(out, { force: true });
  lastGranted = CLIENT === 'fetch' ? Number(granted) : undefined;
  return SIZE / 1024 / 1024 / s; // MiB/s
}
let lastGranted;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

startHpa();
await startOurs();
await new Promise((r) => setTimeout(r, 300));
download(HPA_PORT, 512, 1); // warm the page cache and both servers
download(OUR_PORT, 512, 1);

const BLOCKS = [512, 1468, 8192, 65464];
const rows = [];
const loadBefore = loadavg()[0];
for (const blksize of BLOCKS) {
  const hpa = [];
  const ours = [];
  const win = [];
  let granted = '?';
  for (let i = 0; i < RUNS; i++) {
    hpa.push(download(HPA_PORT, blksize, 1));
    ours.push(download(OUR_PORT, blksize, 1));
    if (CLIENT !== 'curl') {
      win.push(download(OUR_PORT, blksize, 16));
      granted = lastGranted ?? '?';
    }
  }
  const row = {
    blksize,
    hpa: median(hpa),
    ours: median(ours),
    win: win.length ? median(win) : undefined,
    w: granted,
  };
  rows.push(row);
  const w = row.win
    ? `  ours w${row.w} ${row.win.toFixed(1)} MiB/s (${(row.win / row.hpa).toFixed(2)}×)`
    : '';
  console.log(
    `blksize ${String(blksize).padStart(5)}: tftpd-hpa ${row.hpa.toFixed(1)} MiB/s  ours ${row.ours.toFixed(1)} MiB/s (${(row.ours / row.hpa).toFixed(2)}×)${w}`,
  );
}

const f = (x) => (x === undefined ? '–' : x.toFixed(1));
const r2 = (x) => (x === undefined ? '–' : `${x.toFixed(2)}×`);
const table = [
  `| blksize | tftpd-hpa, lock-step (MiB/s) | ours, lock-step (MiB/s) | ours / tftpd-hpa | ours, windowsize 16 asked (granted) (MiB/s) | windowed / tftpd-hpa lock-step |`,
  `|---:|---:|---:|---:|---:|---:|`,
  ...rows.map(
    (r) =>
      `| ${r.blksize} | ${f(r.hpa)} | ${f(r.ours)} | ${r2(r.ours / r.hpa)} | ${f(r.win)} (${r.w}) | ${r2(r.win && r.win / r.hpa)} |`,
  ),
].join('\n');
const meta = `${CLIENT} client, 50 MiB file, loopback, median of ${RUNS} runs per cell, ${cpus().length} cores, load average ${loadBefore.toFixed(1)} → ${loadavg()[0].toFixed(1)}, ${new Date().toISOString().slice(0, 10)}`;
console.log(`\n${meta}\n\n${table}`);

if (args.includes('--write')) {
  const doc = join(repo, 'docs/performance.md');
  const text = existsSync(doc) ? readFileSync(doc, 'utf8') : '# Performance\n';
  const notes = existsSync(join(here, 'NOTES.md'))
    ? `${readFileSync(join(here, 'NOTES.md'), 'utf8').trim()}\n\n`
    : '';
  const section = `## tftp\n\nCommand: \`npx nx build @boottorrent/tftp && node tools/bench/tftp/bench.mjs --runs ${RUNS} --write\`\n\n${meta}.\n\n${table}\n\n${notes}`;
  const re = /^## tftp\n[\s\S]*?(?=^## |(?![\s\S]))/m;
  const next = re.test(text) ? text.replace(re, `${section}\n`) : `${text.trimEnd()}\n\n${section}`;
  writeFileSync(doc, next.replace(/\n{3,}/g, '\n\n'));
  console.log(`wrote the tftp section of ${doc}`);
}
cleanup();
process.exit(0); // the servers' pipes would keep the event loop alive
