#!/usr/bin/env node
// TFTP throughput: @boottorrent/tftp vs tftpd-hpa (Debian's in.tftpd, unpacked by tools/setup.sh), same
// 50 MiB file, same client, same machine, loopback, high ports. Not a test: run it by hand.
//
//   npx nx build @boottorrent/tftp && npx node tools/bench/tftp/bench.mjs [--runs 5] [--client fetch|atftp|curl]
//       [--blocks 512,1468] [--no-window] [--window-buffer BYTES] [--c-senders] [--write]
//
// Client: `fetch` (default) is fetch.c beside this file, compiled with gcc: a minimal RFC 1350/2347/7440
// reader that discards the data and prints its CRC-32C (the CPU's crc32 instruction, ~2 µs per 64 KiB),
// so the client is not what is measured (atftp spends ~15 µs per packet and caps any window). atftp and
// curl can be chosen instead. Beside each row, loopback-ref.c measures the loopback in the same pattern
// with no file and no checksum (lock-step, and at the granted window): a reference, not a strict bound.
// Rows: blksize 512 / 1468 / 8192 / 65464 (or --blocks) lock-step on tftpd-hpa and on ours twice, once
// per datagram wire (the native addon and node:dgram, each in its own server process); then ours with
// windowsize 16 asked on the native wire, twice: with the default grant (what fits a default 212992-byte
// client socket buffer: 12 blocks of 8192, 3 of 65464; read from the OACK by tftp-fetch), and on a
// third server of ours whose windowBufferBytes is tftp-fetch's real receive buffer (2 × min(4 MiB,
// net.core.rmem_max)), which grants the 16. --no-window skips both. Each cell is the median of --runs
// downloads, the servers interleaved so load from elsewhere hits all alike: per row, first one untimed
// lock-step download per server and twelve untimed windowed ones per windowed server (a fresh server of
// ours is slower in its first windowed transfers while V8 compiles its hot paths: 1.7-3.8 GB/s in the
// first four at 65464 with 16 granted, 3.5-4.7 after, Node 24), then each run goes through the
// lock-step servers and then the windowed ones in an order rotated by one per run (whichever runs first after the lock-step group starts
// on idle vCPUs, and was measured up to 25 % slower for it). With perf on PATH, each
// lock-step download also counts the server's CPU time (`perf stat -e task-clock -p PID`: all
// threads, user + kernel, tftpd-hpa's per-transfer child included) and the table gives the median µs
// per round trip. --window-buffer sets windowBufferBytes of the first two servers of ours.
// --c-senders also runs c-sender.c (pread, mmap, sendfile, thread) at the window ours granted by default,
// interleaved, and prints their table. --write replaces the "## tftp" section of docs/performance.md
// with the tables (only from a full run with the defaults).
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// A bad option or a failed step ends the run with one line (cleanup still runs on exit).
for (const event of ['uncaughtException', 'unhandledRejection'])
  process.on(event, (err) => {
    console.error(`tftp bench: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../../..');
// Our servers run on this Node (process.execPath): the repository's, not an older one on PATH.
const engines = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).engines?.node ?? '';
if (Number(process.versions.node.split('.')[0]) < Number(/>=\s*(\d+)/.exec(engines)?.[1] ?? 0))
  throw new Error(
    `Node ${process.version} is older than the repository's (engines ${engines}); run the pinned one: npx node tools/bench/tftp/bench.mjs`,
  );
const args = process.argv.slice(2);
const opt = (name, def) => (args.includes(name) ? args[args.indexOf(name) + 1] : def);
const RUNS = Number(opt('--runs', '5'));
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error('--runs takes a whole number ≥ 1');
const CLIENT = opt('--client', 'fetch');
const SIZE = 50 * 1024 * 1024;
const HPA = join(repo, '.cache/deb/tftpd-hpa/usr/sbin/in.tftpd');
const BLOCKS = opt('--blocks', '512,1468,8192,65464').split(',').map(Number);
const WINDOW = !args.includes('--no-window');
const WINDOW_BUFFER = opt('--window-buffer', '');
if (BLOCKS.some((b) => !Number.isInteger(b) || b < 8 || b > 65464))
  throw new Error('--blocks takes block sizes from 8 to 65464, comma-separated (e.g. 512,1468)');
if (WINDOW_BUFFER && !(Number.isInteger(Number(WINDOW_BUFFER)) && Number(WINDOW_BUFFER) > 0))
  throw new Error('--window-buffer takes a number of bytes (e.g. 1060800)');
const C_SENDERS = args.includes('--c-senders') ? ['pread', 'mmap', 'sendfile', 'thread'] : [];
if (C_SENDERS.length && (CLIENT !== 'fetch' || !WINDOW))
  throw new Error('--c-senders needs the fetch client and windows');
const HPA_PORT = 16900 + Math.floor(Math.random() * 50);
const NATIVE_PORT = HPA_PORT + 50;
const DGRAM_PORT = HPA_PORT + 100;
const SIZED_PORT = HPA_PORT + 200;
// tftp-fetch asks for a 4 MiB SO_RCVBUF; Linux caps the request at net.core.rmem_max and doubles it.
const RMEM_MAX = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8'));
const FETCH_RCVBUF = 2 * Math.min(4 << 20, RMEM_MAX);
const SIZED = CLIENT === 'fetch' && WINDOW; // a third server of ours, its windowBufferBytes = FETCH_RCVBUF
if (args.includes('--write') && (BLOCKS.join() !== '512,1468,8192,65464' || !WINDOW || WINDOW_BUFFER))
  throw new Error(
    '--write needs the full table with the defaults: drop --blocks, --no-window and --window-buffer',
  );

if (!existsSync(HPA)) throw new Error(`${HPA} missing: run bash tools/setup.sh`);
if (!existsSync(join(repo, 'packages/tftp/dist/index.js')))
  throw new Error('build first: npx nx build @boottorrent/tftp');
const which = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim();
const PERF = which('perf'); // optional: the CPU column
if (CLIENT !== 'fetch' && !which(CLIENT))
  throw new Error(`${CLIENT} is not installed: run bash tools/setup.sh`);

const dir = mkdtempSync(join(tmpdir(), 'bt-tftp-bench-'));
const file = join(dir, 'fifty.bin');
const content = randomBytes(SIZE);
writeFileSync(file, content, { mode: 0o644 });
// CRC-32C of the file, as tftp-fetch computes it over what it accepted (here by a table, there by the
// CPU's crc32 instruction: the two must agree for any run to count).
const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, i) => {
  let c = i;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  return c >>> 0;
});
let crc = 0xffffffff;
for (let i = 0; i < content.length; i++) crc = CRC_TABLE[(crc ^ content[i]) & 0xff] ^ (crc >>> 8);
const expectedCrc = (crc ^ 0xffffffff) >>> 0;
/** Compiles a C file beside this script into the temp dir; returns the binary's path. */
function compile(source, binary, flags = []) {
  const out = join(dir, binary);
  const cc = spawnSync('gcc', ['-O2', ...flags, '-o', out, join(here, source)], { encoding: 'utf8' });
  if (cc.status !== 0) throw new Error(`gcc failed on ${source} (apt-get install gcc): ${cc.stderr}`);
  return out;
}
// -msse4.2: the crc32 instruction (every x86-64 since 2008).
const FETCH =
  CLIENT === 'fetch' ? compile('fetch.c', 'tftp-fetch', process.arch === 'x64' ? ['-msse4.2'] : []) : '';
const LOOPBACK_REF = compile('loopback-ref.c', 'tftp-loopback-ref');
const C_SENDER = C_SENDERS.length ? compile('c-sender.c', 'tftp-c-sender', ['-pthread']) : '';
/** MiB/s of loopback-ref.c: the loopback in TFTP's pattern with no file and no checksum. */
function loopbackRef(blksize, windowsize) {
  const r = spawnSync(LOOPBACK_REF, [String(blksize), String(windowsize), String(SIZE)], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (r.status !== 0) throw new Error(`tftp-loopback-ref ${blksize} ${windowsize} failed: ${r.stderr}`);
  return Number(r.stdout.trim());
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
  pids.set(HPA_PORT, c.pid);
}
const pids = new Map(); // port → server pid
async function startOurs(port, wire, windowBuffer = WINDOW_BUFFER) {
  const c = spawn(
    process.execPath,
    [join(here, 'server-child.mjs'), dir, String(port), wire, String(windowBuffer)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  children.push(c);
  pids.set(port, c.pid);
  await new Promise((res, rej) => {
    c.stdout.once('data', res);
    c.once('exit', (code) => rej(new Error(`our server (wire ${wire}) exited with ${code}`)));
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
  const [bytes, sum, granted, fetchSeconds] = r.stdout.trim().split(' ');
  const ok =
    CLIENT === 'fetch'
      ? `${bytes} ${sum}` === `${SIZE} ${expectedCrc}`
      : r.status === 0 && statSync(out).size === SIZE;
  if (r.status !== 0 || !ok)
    throw new Error(
      `${CLIENT} failed on port ${port} (blksize ${blksize}, windowsize ${windowsize}): ${r.stdout} ${r.stderr}`,
    );
  rmSync(out, { force: true });
  lastGranted = CLIENT === 'fetch' ? Number(granted) : undefined;
  // tftp-fetch times the transfer itself (request to last ACK): at 3 GB/s a download takes ~16 ms and
  // starting the process would add a few of them. Other clients are timed from outside.
  return SIZE / 1024 / 1024 / (CLIENT === 'fetch' ? Number(fetchSeconds) : s); // MiB/s
}
let lastGranted;

/**
 * A lock-step download with the server's CPU time counted by `perf stat -e task-clock -p PID` (all
 * threads, user + kernel, and tftpd-hpa's per-transfer child, which perf follows from its parent):
 * returns MiB/s and the server's CPU µs per round trip (one DATA, one ACK). Without perf: CPU undefined.
 */
async function lockStep(port, blksize) {
  if (!PERF) return { mibs: download(port, blksize, 1), cpu: undefined };
  const perf = spawn(PERF, ['stat', '-x', ',', '-e', 'task-clock', '-p', String(pids.get(port))], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let out = '';
  perf.stderr.on('data', (d) => (out += d));
  await new Promise((r) => setTimeout(r, 250)); // attached
  const mibs = download(port, blksize, 1);
  await new Promise((r) => setTimeout(r, 50)); // the last ACK handled
  perf.kill('SIGINT');
  await new Promise((r) => perf.once('close', r));
  const ms = Number(
    out
      .split('\n')
      .find((l) => l.includes('task-clock'))
      ?.split(',')[0],
  );
  return { mibs, cpu: Number.isFinite(ms) ? (ms * 1000) / (Math.floor(SIZE / blksize) + 1) : undefined };
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

startHpa();
await startOurs(NATIVE_PORT, 'native'); // fails (wire 'native') when the addon is not built
await startOurs(DGRAM_PORT, 'dgram');
if (SIZED) await startOurs(SIZED_PORT, 'native', FETCH_RCVBUF);
const cPorts = C_SENDERS.map((_, i) => HPA_PORT + 150 + i);
for (const [i, mode] of C_SENDERS.entries()) {
  const c = spawn(C_SENDER, [mode, '127.0.0.1', String(cPorts[i]), dir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(c);
  await new Promise((res, rej) => {
    c.stdout.once('data', res);
    c.once('exit', (code) => rej(new Error(`tftp-c-sender ${mode} exited with ${code}`)));
  });
}
await new Promise((r) => setTimeout(r, 300));
for (const port of [HPA_PORT, NATIVE_PORT, DGRAM_PORT]) download(port, 512, 1); // warm the page cache and the servers
const WARM_WINDOWED = 12; // untimed windowed downloads per server and row (see the header)

const rows = [];
const loadBefore = loadavg()[0];
const f = (x) => (x === undefined ? '–' : x.toFixed(1));
const x = (a, b) => `${(a / b).toFixed(2)}×`;
for (const blksize of BLOCKS) {
  const cells = { hpa: [], native: [], dgram: [] };
  const win = [];
  const sized = [];
  const ref = { lock: [], win: [], sized: [] };
  let sizedGranted = '?';
  const cWin = C_SENDERS.map(() => []);
  let granted = '?';
  // Untimed first, per row: each server of ours compiles its hot paths (V8) and fills its chunk
  // pool in its first transfers, which came out 9–18 % slower; a row has only RUNS timed ones.
  // The windowed warm-up also reads the windows granted, which the C senders and references then use.
  for (const port of [HPA_PORT, NATIVE_PORT, DGRAM_PORT]) download(port, blksize, 1);
  if (CLIENT !== 'curl' && WINDOW)
    for (let w = 0; w < WARM_WINDOWED; w++) {
      download(NATIVE_PORT, blksize, 16);
      granted = lastGranted ?? '?';
      if (SIZED) {
        download(SIZED_PORT, blksize, 16);
        sizedGranted = lastGranted;
      }
      for (const port of cPorts) download(port, blksize, Number(granted));
    }
  const lockGroup = [
    async () => cells.hpa.push(await lockStep(HPA_PORT, blksize)),
    async () => cells.native.push(await lockStep(NATIVE_PORT, blksize)),
    async () => cells.dgram.push(await lockStep(DGRAM_PORT, blksize)),
    () => ref.lock.push(loopbackRef(blksize, 1)),
  ];
  const winGroup = [];
  if (CLIENT !== 'curl' && WINDOW) {
    winGroup.push(() => win.push(download(NATIVE_PORT, blksize, 16)));
    if (typeof granted === 'number') winGroup.push(() => ref.win.push(loopbackRef(blksize, granted)));
    for (const [k, port] of cPorts.entries())
      winGroup.push(() => cWin[k].push(download(port, blksize, Number(granted))));
  }
  if (SIZED) {
    winGroup.push(() => sized.push(download(SIZED_PORT, blksize, 16)));
    winGroup.push(() => ref.sized.push(loopbackRef(blksize, sizedGranted)));
  }
  // Each run goes through the servers in an order rotated by one, so no server always runs first after
  // the slow lock-step group (the vCPUs then start from idle) or right after another fast download.
  for (let i = 0; i < RUNS; i++) {
    for (const group of [lockGroup, winGroup])
      for (let j = 0; j < group.length; j++) await group[(i + j) % group.length]();
  }
  const speed = (k) => median(cells[k].map((c) => c.mibs));
  const cpu = (k) => (PERF ? median(cells[k].map((c) => c.cpu ?? NaN)) : undefined);
  const row = {
    blksize,
    hpa: speed('hpa'),
    native: speed('native'),
    dgram: speed('dgram'),
    cpu: { hpa: cpu('hpa'), native: cpu('native'), dgram: cpu('dgram') },
    win: win.length ? median(win) : undefined,
    w: granted,
    refLock: median(ref.lock),
    refWin: ref.win.length ? median(ref.win) : undefined,
    sized: sized.length ? median(sized) : undefined,
    sw: sizedGranted,
    refSized: ref.sized.length ? median(ref.sized) : undefined,
    c: cWin.map((xs) => median(xs)),
  };
  rows.push(row);
  const w = row.win
    ? `  native w${row.w} ${row.win.toFixed(1)} MiB/s (${x(row.win, row.hpa)}; no-work reference w${row.w} ${f(row.refWin)})`
    : '';
  console.log(
    `blksize ${String(blksize).padStart(5)}: tftpd-hpa ${row.hpa.toFixed(1)} MiB/s  native ${row.native.toFixed(1)} MiB/s (${x(row.native, row.hpa)})  dgram ${row.dgram.toFixed(1)} MiB/s (${x(row.dgram, row.hpa)})${w}  no-work reference w1 ${f(row.refLock)}  server CPU/round trip: hpa ${f(row.cpu.hpa)} native ${f(row.cpu.native)} dgram ${f(row.cpu.dgram)} µs`,
  );
  if (SIZED)
    console.log(
      `  sized for the client: native w${row.sw} ${f(row.sized)} MiB/s (${x(row.sized, row.hpa)}; no-work reference w${row.sw} ${f(row.refSized)})`,
    );
  if (C_SENDERS.length)
    console.log(
      `  C senders at window ${row.w}: ${C_SENDERS.map((m, k) => `${m} ${f(row.c[k])}`).join('  ')} MiB/s`,
    );
  const runs = (k) => cells[k].map((c) => c.mibs.toFixed(1)).join(' ');
  console.log(`  runs (MiB/s): hpa ${runs('hpa')} | native ${runs('native')} | dgram ${runs('dgram')}`);
  const list = (xs) => xs.map((v) => v.toFixed(1)).join(' ');
  if (win.length || sized.length)
    console.log(`  windowed runs (MiB/s): default grant ${list(win)} | sized ${list(sized)}`);
}

const r2 = (x) => (x === undefined ? '–' : `${x.toFixed(2)}×`);
const table = [
  'Lock-step (one block per ACK):',
  '',
  `| blksize | tftpd-hpa (MiB/s) | ours, native wire (MiB/s) | native / tftpd-hpa | ours, node:dgram (MiB/s) | dgram / tftpd-hpa | no work (MiB/s) | server CPU per round trip (µs): tftpd-hpa / native / dgram |`,
  `|---:|---:|---:|---:|---:|---:|---:|---:|`,
  ...rows.map(
    (r) =>
      `| ${r.blksize} | ${f(r.hpa)} | ${f(r.native)} | ${r2(r.native / r.hpa)} | ${f(r.dgram)} | ${r2(r.dgram / r.hpa)} | ${f(r.refLock)} | ${f(r.cpu.hpa)} / ${f(r.cpu.native)} / ${f(r.cpu.dgram)} |`,
  ),
  '',
  `Windowed, windowsize 16 asked, ours on the native wire; ratios against tftpd-hpa's lock-step above. "Default grant": the window that fits a default 212992-byte socket buffer. "Sized": \`windowBufferBytes\` set to tftp-fetch's receive buffer (${FETCH_RCVBUF} bytes). "No work": loopback-ref.c at the same window.`,
  '',
  `| blksize | default grant: granted | MiB/s | ÷ tftpd-hpa | no work (MiB/s; ÷ tftpd-hpa) | sized: granted | MiB/s | ÷ tftpd-hpa | no work (MiB/s; ÷ tftpd-hpa) |`,
  `|---:|---:|---:|---:|---:|---:|---:|---:|---:|`,
  ...rows.map(
    (r) =>
      `| ${r.blksize} | ${r.w} | ${f(r.win)} | ${r2(r.win && r.win / r.hpa)} | ${f(r.refWin)} (${r2(r.refWin && r.refWin / r.hpa)}) | ${r.sw} | ${f(r.sized)} | ${r2(r.sized && r.sized / r.hpa)} | ${f(r.refSized)} (${r2(r.refSized && r.refSized / r.hpa)}) |`,
  ),
].join('\n');
const meta = `${CLIENT} client, 50 MiB file, loopback, median of ${RUNS} runs per cell, Node ${process.version}, ${cpus().length} cores, load average ${loadBefore.toFixed(1)} → ${loadavg()[0].toFixed(1)}, ${new Date().toISOString().slice(0, 10)}`;
console.log(`\n${meta}\n\n${table}`);
if (C_SENDERS.length)
  console.log(
    [
      `\n| blksize | window | ours native (MiB/s) | ${C_SENDERS.map((m) => `C ${m} (MiB/s)`).join(' | ')} |`,
      `|---:|---:|---:|${C_SENDERS.map(() => '---:|').join('')}`,
      ...rows.map((r) => `| ${r.blksize} | ${r.w} | ${f(r.win)} | ${r.c.map(f).join(' | ')} |`),
    ].join('\n'),
  );

if (args.includes('--write')) {
  const doc = join(repo, 'docs/performance.md');
  const text = existsSync(doc) ? readFileSync(doc, 'utf8') : '# Performance\n';
  const notes = existsSync(join(here, 'NOTES.md'))
    ? `${readFileSync(join(here, 'NOTES.md'), 'utf8').trim()}\n\n`
    : '';
  const section = `## tftp\n\nCommand: \`npx nx build @boottorrent/tftp && npx node tools/bench/tftp/bench.mjs --runs ${RUNS} --write\`\n\n${meta}.\n\n${table}\n\n${notes}`;
  const re = /^## tftp\n[\s\S]*?(?=^## |(?![\s\S]))/m;
  const next = re.test(text) ? text.replace(re, `${section}\n`) : `${text.trimEnd()}\n\n${section}`;
  writeFileSync(doc, next.replace(/\n{3,}/g, '\n\n'));
  console.log(`wrote the tftp section of ${doc}`);
}
cleanup();
process.exit(0); // the servers' pipes would keep the event loop alive
