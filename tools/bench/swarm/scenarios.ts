// The three ways to bring N machines up, each run on the same namespaces and the same image:
//   boottorrent: @boottorrent/tracker + @boottorrent/seeder on the server, N download() clients;
//   http:        a plain node http server, N clients fetching the whole image;
//   original:    opentracker + an aria2c seeder on the server, N aria2c clients (DHT off, PEX on,
//                seed-ratio 0: the original project's settings);
//   proto:       boottorrent with the server's startSeeder replaced by proto-superseed.mjs (the
//                measured "after" of the super-seeding recommendation; clients unchanged).
// Every client stays up (BitTorrent clients keep seeding) until the last one is done; then all stop.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Lab } from './netns.ts';
import type { Proc, Procs } from './procs.ts';
import { Tracer } from './trace.ts';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const SERVER_JS = join(here, 'server.mjs');
const CLIENT_JS = join(here, 'client.mjs');
const TRACKER_PORT = 8000;
const PEER_PORT = 6881;
const HTTP_PORT = 8080;
const OPENTRACKER_PORT = 6969;

export type Method = 'boottorrent' | 'http' | 'original' | 'proto';
/** Every method; `proto` is boottorrent with the benchmark's prototype super-seeding server. */
export const METHODS: readonly Method[] = ['boottorrent', 'http', 'original', 'proto'];
export const DEFAULT_METHODS: readonly Method[] = ['boottorrent', 'http', 'original', 'proto'];

export interface Ctx {
  lab: Lab;
  procs: Procs;
  /** Scratch directory (tmpfs) for this run. */
  work: string;
  /** Directory holding the image (one file, image.bin); it is the torrent's content. */
  imageDir: string;
  imageBytes: number;
  n: number;
  timeoutSec: number;
  opentracker: string;
  pieceLength?: number;
  superSeed?: boolean;
  /** sample a timeline every this many ms (swarm.ts --trace-ms; 0 or undefined = off) */
  traceMs?: number;
  log: (line: string) => void;
}

export interface ScenarioResult {
  method: Method;
  n: number;
  ok: boolean;
  error?: string;
  /** Completion time of each client, seconds since the start signal, in client order. */
  times: number[];
  last: number;
  median: number;
  /** Bytes the server's interface sent during the run (wire bytes, TCP/IP headers included). */
  serverTxBytes: number;
  /** CPU seconds used by our processes during the timed window, and the machine's busy share. */
  cpuSeconds: number;
  machineBusy: number;
  extra: Record<string, unknown>;
  /**
   * With `--repeat K` (K > 1): every round of this method at this N, in round order. The fields above
   * are then the medians over the rounds (`last`, `median`, `serverTxBytes`, `cpuSeconds`,
   * `machineBusy`), and `times`, `extra` those of the round whose `last` is nearest the median.
   */
  rounds?: Round[];
}

/** One round of a `--repeat` run, as {@link ScenarioResult.rounds} keeps it. */
export interface Round {
  round: number;
  /** position of this run among all of the benchmark's runs, from 0 (shows the methods' order) */
  seq: number;
  ok: boolean;
  error?: string;
  last: number;
  median: number;
  serverTxBytes: number;
  cpuSeconds: number;
  machineBusy: number;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Busy and total jiffies of the whole machine, from /proc/stat. */
function machineJiffies(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = f[3]! + f[4]!;
  return { busy: total - idle, total };
}

function waitMsg(proc: Proc, ev: string, timeoutMs: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${proc.name}: no "${ev}" within ${timeoutMs / 1000} s: ${proc.stderrTail()}`)),
      timeoutMs,
    );
    proc.onMessage((msg) => {
      if (msg.ev === ev) {
        clearTimeout(timer);
        resolve(msg);
      } else if (msg.ev === 'error') {
        clearTimeout(timer);
        reject(new Error(`${proc.name}: ${String(msg.message)}`));
      }
    });
    void proc.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${proc.name} exited (${code}) before "${ev}": ${proc.stderrTail()}`));
    });
  });
}

/** Size of the downloaded image.bin somewhere under `dir` (-1 if there is none). */
function imageSizeIn(dir: string): number {
  if (!existsSync(dir)) return -1;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && e.name === 'image.bin') return statSync(join(e.parentPath, e.name)).size;
  }
  return -1;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Timed {
  t0: number;
  tx0: number;
  cpu0: number;
  sys0: { busy: number; total: number };
}

async function startClock(ctx: Ctx): Promise<Timed> {
  const tx0 = await ctx.lab.txBytes(ctx.lab.server);
  return { t0: Date.now(), tx0, cpu0: ctx.procs.cpuSeconds(), sys0: machineJiffies() };
}

async function stopClock(ctx: Ctx, timed: Timed, doneAt: number[], method: Method, extra = {}) {
  const tx1 = await ctx.lab.txBytes(ctx.lab.server);
  const sys1 = machineJiffies();
  const times = doneAt.map((t) => (t - timed.t0) / 1000);
  const result: ScenarioResult = {
    method,
    n: ctx.n,
    ok: true,
    times,
    last: Math.max(...times),
    median: median(times),
    serverTxBytes: tx1 - timed.tx0,
    cpuSeconds: ctx.procs.cpuSeconds() - timed.cpu0,
    machineBusy: (sys1.busy - timed.sys0.busy) / Math.max(1, sys1.total - timed.sys0.total),
    extra,
  };
  return result;
}

/** Node clients: spawn, wait until all loaded, start them together, wait until all done. */
async function runNodeClients(
  ctx: Ctx,
  method: Method,
  argsFor: (i: number, out: string) => string[],
  server?: Proc,
) {
  const outs = ctx.lab.clients
    .slice(0, ctx.n)
    .map((_, i) => join(ctx.work, `${method}-${ctx.n}`, `c${i + 1}`));
  const clients = ctx.lab.clients.slice(0, ctx.n).map((h, i) =>
    ctx.procs.spawn(`${method}-${h.name}`, h.ns, process.execPath, [
      // BTSW_PROF=<dir>: V8 CPU profiles of the clients, for the bottleneck analysis
      ...(process.env.BTSW_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BTSW_PROF] : []),
      // BTSW_NODE_ARGS='--trace-gc': more Node flags for the clients (output shows with BTSW_DEBUG=1)
      ...(process.env.BTSW_NODE_ARGS ?? '').split(' ').filter(Boolean),
      CLIENT_JS,
      ...argsFor(i, outs[i]!),
      '--max-seconds',
      String(ctx.timeoutSec + 120),
    ]),
  );
  const done = clients.map((c) => waitMsg(c, 'done', (ctx.timeoutSec + 60) * 1000));
  const closed = clients.map((c) => waitMsg(c, 'closed', (ctx.timeoutSec + 90) * 1000).catch(() => ({})));
  await Promise.all(clients.map((c) => waitMsg(c, 'ready', 60_000)));
  const timed = await startClock(ctx);
  const tracer = ctx.traceMs ? new Tracer(timed.t0, ctx.traceMs) : undefined;
  if (server) tracer?.add('srv', server.pid);
  clients.forEach((c, i) => tracer?.add(ctx.lab.clients[i]!.name, c.pid));
  // BTSW_PERF=<file>: `perf record -g` of the server and the clients from go until the last is done
  const perf = process.env.BTSW_PERF
    ? spawn(
        'perf',
        [
          'record',
          '-g',
          '-F',
          '999',
          '-o',
          process.env.BTSW_PERF,
          '-p',
          [...(server ? [server.pid] : []), ...clients.map((c) => c.pid)].join(','),
        ],
        { stdio: 'ignore' },
      ).on('error', (err) => ctx.log(`BTSW_PERF: perf did not start: ${err.message}`))
    : undefined;
  const clientCpu0 = clients.map((c) => c.cpuSeconds());
  for (const c of clients) c.send('go');
  const deadline = sleep(ctx.timeoutSec * 1000).then(() => {
    throw new Error(`${method} N=${ctx.n}: not all clients done within ${ctx.timeoutSec} s`);
  });
  const doneMsgs = await Promise.race([Promise.all(done), deadline]).finally(() => {
    tracer?.stop();
    perf?.kill('SIGINT');
  });
  const clientCpu = clients.map((c, i) => c.cpuSeconds() - clientCpu0[i]!);
  const result = await stopClock(
    ctx,
    timed,
    doneMsgs.map((m) => Number(m.t)),
    method,
  );
  // CPU-seconds of each client in the timed window; the rest of cpuSeconds is the server side
  result.extra.clientCpuSeconds = clientCpu.map((x) => +x.toFixed(2));
  if (tracer) result.extra.trace = tracer.stop();
  for (const c of clients) c.send('stop');
  const closedMsgs = await Promise.race([Promise.all(closed), sleep(15_000).then(() => [])]);
  for (const c of clients) await ctx.procs.kill(c);
  const sizes = outs.map(imageSizeIn);
  const bad = sizes.findIndex((s) => s !== ctx.imageBytes);
  if (bad >= 0)
    throw new Error(`${method} N=${ctx.n}: client ${bad + 1} has ${sizes[bad]} bytes, not ${ctx.imageBytes}`);
  result.extra.clients = closedMsgs.map((m, i) => ({
    stats: m.stats,
    maxRssMiB: m.maxRssMiB,
    memPeak: m.memPeak,
    gc: m.gc,
    firstPeerByteMs: doneMsgs[i]?.firstPeerByteMs,
    timeline: doneMsgs[i]?.timeline,
    marks: doneMsgs[i]?.marks,
    events: doneMsgs[i]?.events,
  }));
  return result;
}

export async function runBootTorrent(
  ctx: Ctx,
  method: 'boottorrent' | 'proto' = 'boottorrent',
): Promise<ScenarioResult> {
  const { server } = ctx.lab;
  const torrentPath = join(ctx.work, `${method}-${ctx.n}.torrent`);
  const seeder = ctx.procs.spawn('bt-server', server.ns, process.execPath, [
    // BTSW_PROF=<dir>: a V8 CPU profile of the server process too
    ...(process.env.BTSW_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BTSW_PROF] : []),
    // BTSW_SERVER_NODE_ARGS='--trace-gc': more Node flags for the server (output shows with BTSW_DEBUG=1)
    ...(process.env.BTSW_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean),
    SERVER_JS,
    'bt',
    '--dir',
    ctx.imageDir,
    '--host',
    server.ip,
    '--port',
    String(PEER_PORT),
    '--tracker-port',
    String(TRACKER_PORT),
    '--torrent-out',
    torrentPath,
    '--max-seconds',
    String(ctx.timeoutSec + 300),
    ...(ctx.pieceLength ? ['--piece-length', String(ctx.pieceLength)] : []),
    ...(ctx.superSeed ? ['--super-seed'] : []),
    ...(method === 'proto' ? ['--proto-superseed'] : []),
  ]);
  try {
    const closed = waitMsg(seeder, 'closed', (ctx.timeoutSec + 300) * 1000).catch(() => ({}));
    const ready = await waitMsg(seeder, 'ready', 120_000);
    const announce = (ready.announce as string[]).join(',');
    const result = await runNodeClients(
      ctx,
      method,
      (_, out) => [
        'bt',
        '--torrent',
        torrentPath,
        '--dir',
        out,
        '--announce',
        announce,
        '--server-peer',
        `${server.ip}:${PEER_PORT}`,
        '--port',
        String(PEER_PORT),
      ],
      seeder,
    );
    seeder.send('stop');
    const closedMsg = await Promise.race([closed, sleep(10_000).then(() => ({}))]);
    result.extra.server = { ready, stats: (closedMsg as { stats?: unknown }).stats };
    return result;
  } finally {
    await ctx.procs.kill(seeder);
    rmSync(join(ctx.work, `${method}-${ctx.n}`), { recursive: true, force: true });
  }
}

export async function runHttp(ctx: Ctx): Promise<ScenarioResult> {
  const { server } = ctx.lab;
  const file = join(ctx.imageDir, 'image.bin');
  const srv = ctx.procs.spawn('http-server', server.ns, process.execPath, [
    SERVER_JS,
    'http',
    '--file',
    file,
    '--host',
    server.ip,
    '--port',
    String(HTTP_PORT),
  ]);
  try {
    await waitMsg(srv, 'ready', 30_000);
    return await runNodeClients(ctx, 'http', (_, out) => [
      'http',
      '--url',
      `http://${server.ip}:${HTTP_PORT}/image.bin`,
      '--dir',
      out,
    ]);
  } finally {
    await ctx.procs.kill(srv);
    rmSync(join(ctx.work, `http-${ctx.n}`), { recursive: true, force: true });
  }
}

/** mktorrent's default piece length (2^18) and an info hash from aria2c -S; no network involved. */
export async function makeOriginalTorrent(ctx: Ctx): Promise<{ torrent: string; infoHash: string }> {
  const torrent = join(ctx.work, 'original.torrent');
  if (!existsSync(torrent)) {
    await run('mktorrent', [
      '-a',
      `http://${ctx.lab.server.ip}:${OPENTRACKER_PORT}/announce`,
      '-o',
      torrent,
      ctx.imageDir,
    ]);
  }
  const { stdout } = await run('aria2c', ['-S', torrent]);
  const m = /Info Hash: ([0-9a-f]{40})/.exec(stdout);
  if (!m) throw new Error(`aria2c -S ${torrent}: no info hash`);
  return { torrent, infoHash: m[1]! };
}

const ARIA2_COMMON = [
  '--no-conf',
  '--enable-dht=false',
  '--enable-dht6=false',
  '--enable-peer-exchange=true',
  '--bt-enable-lpd=false',
  '--seed-ratio=0.0',
  `--listen-port=${PEER_PORT}`,
  '--file-allocation=none',
  '--summary-interval=0',
  '--console-log-level=warn',
  '--allow-overwrite=true',
  '--auto-file-renaming=false',
];

export async function runOriginal(ctx: Ctx): Promise<ScenarioResult> {
  const { server } = ctx.lab;
  const { torrent, infoHash } = await makeOriginalTorrent(ctx);
  const base = join(ctx.work, `original-${ctx.n}`);
  const otDir = join(base, 'opentracker');
  mkdirSync(otDir, { recursive: true });
  writeFileSync(join(otDir, 'whitelist'), `${infoHash}\n`);
  const hook = join(base, 'done.sh');
  writeFileSync(hook, '#!/bin/sh\ndate +%s%3N > "$BTSW_DONE"\n', { mode: 0o755 });
  const procs: Proc[] = [];
  try {
    // The Debian build is whitelist-only: it chroots into -d, drops to -u (it refuses to run as root)
    // and then reads the whitelist from inside the chroot. Its announce interval is ~30 min.
    procs.push(
      ctx.procs.spawn('opentracker', server.ns, ctx.opentracker, [
        '-i',
        server.ip,
        '-p',
        String(OPENTRACKER_PORT),
        '-P',
        String(OPENTRACKER_PORT),
        '-d',
        otDir,
        '-u',
        'nobody',
        '-w',
        '/whitelist',
      ]),
    );
    procs.push(
      ctx.procs.spawn('aria2-seeder', server.ns, 'aria2c', [
        ...ARIA2_COMMON,
        '--bt-seed-unverified=true',
        '--check-integrity=false',
        '-d',
        dirname(ctx.imageDir),
        torrent,
      ]),
    );
    // Wait until the seeder has announced: the tracker's scrape shows one complete peer.
    const hashEsc = infoHash.replace(/../g, '%$&');
    const scrape = `http://${server.ip}:${OPENTRACKER_PORT}/scrape?info_hash=${hashEsc}`;
    for (let i = 0; ; i++) {
      const { stdout } = await run('ip', [
        'netns',
        'exec',
        server.ns,
        'curl',
        '-s',
        '--max-time',
        '2',
        scrape,
      ]).catch(() => ({ stdout: '' }));
      if (/8:completei[1-9]/.test(stdout)) break;
      if (i > 100)
        throw new Error(`original N=${ctx.n}: the aria2c seeder never announced (scrape: ${stdout})`);
      await sleep(100);
    }
    const doneFiles = ctx.lab.clients.slice(0, ctx.n).map((_, i) => join(base, `done-${i + 1}`));
    const timed = await startClock(ctx);
    const tracer = ctx.traceMs ? new Tracer(timed.t0, ctx.traceMs) : undefined;
    tracer?.add('srv', procs[1]!.pid);
    tracer?.add('opentracker', procs[0]!.pid, false);
    const clients = ctx.lab.clients
      .slice(0, ctx.n)
      .map((h, i) =>
        ctx.procs.spawn(
          `original-${h.name}`,
          h.ns,
          'aria2c',
          [...ARIA2_COMMON, '-d', join(base, `c${i + 1}`), `--on-bt-download-complete=${hook}`, torrent],
          { BTSW_DONE: doneFiles[i]! },
        ),
      );
    procs.push(...clients);
    clients.forEach((c, i) => tracer?.add(ctx.lab.clients[i]!.name, c.pid));
    const deadline = timed.t0 + ctx.timeoutSec * 1000;
    while (!doneFiles.every((f) => existsSync(f) && readFileSync(f, 'utf8').trim() !== '')) {
      if (Date.now() > deadline)
        throw new Error(`original N=${ctx.n}: not all clients done within ${ctx.timeoutSec} s`);
      const dead = clients.findIndex((c, i) => c.child.exitCode !== null && !existsSync(doneFiles[i]!));
      if (dead >= 0)
        throw new Error(`original N=${ctx.n}: aria2c ${dead + 1} exited: ${clients[dead]!.stderrTail()}`);
      await sleep(50);
    }
    const trace = tracer?.stop();
    // spawned after the clock started: all their CPU is in the window
    const clientCpu = clients.map((c) => +c.cpuSeconds().toFixed(2));
    const result = await stopClock(
      ctx,
      timed,
      doneFiles.map((f) => Number(readFileSync(f, 'utf8').trim())),
      'original',
      { pieceLength: 2 ** 18, clientCpuSeconds: clientCpu, ...(trace ? { trace } : {}) },
    );
    for (const p of procs) await ctx.procs.kill(p);
    const sizes = ctx.lab.clients.slice(0, ctx.n).map((_, i) => imageSizeIn(join(base, `c${i + 1}`)));
    const bad = sizes.findIndex((s) => s !== ctx.imageBytes);
    if (bad >= 0) throw new Error(`original N=${ctx.n}: client ${bad + 1} has ${sizes[bad]} bytes`);
    return result;
  } finally {
    for (const p of procs) await ctx.procs.kill(p);
    rmSync(base, { recursive: true, force: true });
  }
}
