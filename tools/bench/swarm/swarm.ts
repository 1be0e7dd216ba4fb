// Swarm benchmark (issue 8): time to bring N machines up with BootTorrent, plain HTTP and the original
// stack (opentracker + aria2c), against the Kumar–Ross bound, on a shaped virtual network.
//
//   sudo node tools/bench/swarm/swarm.ts [--quick] [--n 2,4,8,16] [--size-mib 64] [--client-mbit 20]
//        [--server-mbit 20] [--methods boottorrent,http,original,proto] [--piece-length <bytes>] [--super-seed]
//        [--json <file>] [--timelines] [--trace-ms <ms>] [--no-warm] [--repeat 1] [--docs] [--max-minutes 50]
//        [--cleanup] [--verbose]
//        [--client-notsent-lowat <bytes>] [--client-congestion <algorithm>|default]
//        [--server-congestion <algorithm>|default]
//   node tools/bench/swarm/swarm.ts --from-json <file> [--docs]   (re-render a saved run)
//
// --json writes every result (per-client stats, server stats); --timelines adds one progress sample
// per client per second; --trace-ms 50 samples every host's link bytes and every process's CPU every
// 50 ms (trace.ts) and prints the timeline in ~50 rows. --repeat K runs every method K times at each N,
// in alternating order (A B, B A, ...), logs each round and, with boottorrent and original, their
// ratios round by round; the table and `results[]` then hold the medians, `results[].rounds` each round
// (this machine is a VM whose CPU-seconds vary by ±15 % from one run to the next).
// BTSW_PROF=<dir> writes V8 CPU profiles of the node clients;
// BTSW_CLIENT_OPTS='<json>' adds download() options, BTSW_SERVER_OPTS='<json>' startSeeder() options;
// BTSW_PROTO_SLOTS sets the prototype's slots. Client namespaces get net.ipv4.tcp_notsent_lowat=65536,
// as our phase-1 /init sets it; --client-notsent-lowat 0 leaves the kernel default. They also get
// net.ipv4.tcp_congestion_control=cubic, which phase-1 pins, and the server's namespace gets cubic, a
// stock Debian kernel's default (a new namespace would inherit the host's choice: bbr on the machine
// these numbers come from); --client-congestion / --server-congestion default keep the host's.
//
// Needs root (network namespaces), iproute2, aria2c, mktorrent, the unpacked opentracker (tools/setup.sh)
// and the built @boottorrent/seeder and @boottorrent/tracker (npx nx build @boottorrent/seeder).
// Everything it creates (namespaces btsw-<id>-*, their qdiscs, processes, a scratch dir in /dev/shm) is
// removed on exit, on error and on Ctrl+C.
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kumarRossBound } from './bound.ts';
import {
  CLIENT_TCP_CONGESTION,
  createLab,
  SERVER_TCP_CONGESTION,
  type Lab,
  staleNamespaces,
} from './netns.ts';
import { Procs } from './procs.ts';
import {
  combineRounds,
  markdownTable,
  roundOrder,
  roundRatios,
  summarize,
  svgPlot,
  writeDocs,
  type RunConfig,
} from './report.ts';
import {
  type Ctx,
  DEFAULT_METHODS,
  METHODS,
  type Method,
  runBootTorrent,
  runHttp,
  runOriginal,
  type ScenarioResult,
} from './scenarios.ts';
import { parseCli } from './cli.ts';
import { type TraceSeries, traceSummary, traceTable } from './trace.ts';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../../..');

const { values } = parseCli('swarm', {
  options: {
    quick: { type: 'boolean', default: false },
    n: { type: 'string' },
    'size-mib': { type: 'string' },
    'client-mbit': { type: 'string', default: '20' },
    'server-mbit': { type: 'string', default: '20' },
    methods: { type: 'string', default: DEFAULT_METHODS.join(',') },
    'piece-length': { type: 'string' },
    'super-seed': { type: 'boolean', default: false },
    'client-notsent-lowat': { type: 'string' },
    'client-congestion': { type: 'string', default: CLIENT_TCP_CONGESTION },
    'server-congestion': { type: 'string', default: SERVER_TCP_CONGESTION },
    json: { type: 'string' },
    timelines: { type: 'boolean', default: false },
    'trace-ms': { type: 'string', default: '0' },
    'no-warm': { type: 'boolean', default: false },
    repeat: { type: 'string', default: '1' },
    'from-json': { type: 'string' },
    docs: { type: 'boolean', default: false },
    'max-minutes': { type: 'string', default: '50' },
    cleanup: { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
  },
});

const log = (line: string) => process.stderr.write(`swarm: ${line}\n`);
/** Bad arguments: one line, exit 2. */
const usage = (line: string): never => {
  log(line);
  process.exit(2);
};
const vlog = values.verbose ? log : undefined;

if (values.cleanup) {
  for (const ns of await staleNamespaces()) {
    log(`removing namespace ${ns}`);
    execFileSync('ip', ['netns', 'del', ns]);
  }
  process.exit(0);
}

// Re-render the table, docs and plot from a saved --json file (no network, no root).
if (values['from-json']) {
  const saved = JSON.parse(readFileSync(values['from-json'], 'utf8')) as {
    config: RunConfig;
    results: ScenarioResult[];
  };
  const rows = summarize(saved.config, saved.results);
  const table = markdownTable(saved.config, rows);
  process.stdout.write(`${table}\n`);
  if (values.docs) writeDocs(repo, saved.config, table, svgPlot(saved.config, rows));
  process.exit(0);
}

if (process.getuid?.() !== 0) {
  log('needs root (network namespaces and tc); run it with sudo');
  process.exit(2);
}

const ns = (values.n ?? (values.quick ? '2,4' : '2,4,8,16')).split(',').map(Number);
const sizeMiB = Number(values['size-mib'] ?? (values.quick ? 8 : 64));
const methods = values.methods.split(',') as Method[];
for (const m of methods) if (!METHODS.includes(m)) usage(`--methods: unknown ${m} (${METHODS.join(', ')})`);
if (ns.some((n) => !Number.isInteger(n) || n < 1 || n > 64)) usage(`--n: each N must be 1..64`);
const repeat = Number(values.repeat);
if (!Number.isInteger(repeat) || repeat < 1 || repeat > 20)
  usage(`--repeat: ${values.repeat} is not a count 1..20`);
const lowatArg = values['client-notsent-lowat'];
if (lowatArg !== undefined && !/^\d+$/.test(lowatArg))
  usage(`--client-notsent-lowat: ${lowatArg} is not a byte count (0 = the kernel default)`);
const hostCc = readFileSync('/proc/sys/net/ipv4/tcp_congestion_control', 'utf8').trim();
const availableCc = readFileSync('/proc/sys/net/ipv4/tcp_available_congestion_control', 'utf8').trim();
/** The algorithm a congestion option asks for; '' = the host's default. */
const ccOption = (name: 'client-congestion' | 'server-congestion'): string => {
  const v = values[name];
  if (v === 'default') return '';
  if (!availableCc.split(/\s+/).includes(v))
    usage(
      `--${name}: ${v} is not an algorithm this kernel has (${availableCc}), nor "default"; modprobe tcp_<name> adds one`,
    );
  return v;
};
const clientCc = ccOption('client-congestion');
const serverCc = ccOption('server-congestion');
const cfg: RunConfig = {
  ns,
  imageBytes: Math.round(sizeMiB * 1024 * 1024),
  clientMbit: Number(values['client-mbit']),
  serverMbit: Number(values['server-mbit']),
  methods,
  command: `node tools/bench/swarm/swarm.ts ${process.argv.slice(2).join(' ')}`.trim(),
  date: new Date().toISOString(),
  pieceLength: values['piece-length'] ? Number(values['piece-length']) : undefined,
  superSeed: values['super-seed'],
  ...(values['client-notsent-lowat'] !== undefined
    ? { clientNotsentLowat: Number(values['client-notsent-lowat']) }
    : {}),
  clientCongestion: clientCc || `${hostCc} (host default)`,
  serverCongestion: serverCc || `${hostCc} (host default)`,
};
const opentracker = join(repo, '.cache/deb/opentracker/usr/bin/opentracker');
if (methods.includes('original') && !existsSync(opentracker)) {
  log(`${opentracker} is missing: run bash tools/setup.sh`);
  process.exit(2);
}
if (methods.includes('boottorrent') || methods.includes('proto')) {
  for (const p of ['packages/seeder/dist/index.js', 'packages/tracker/dist/index.js']) {
    if (!existsSync(join(repo, p))) {
      log(`${p} is missing: run npx nx build @boottorrent/seeder`);
      process.exit(2);
    }
  }
}

// Cleanup: everything we start is tracked; it runs once, on success, error, signal or a deadline.
const procs = new Procs(vlog);
let lab: Lab | undefined;
const work = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'btsw-'));
let cleaned = false;
async function cleanup() {
  if (cleaned) return;
  cleaned = true;
  await procs.killAll(2000);
  await lab?.destroy();
  rmSync(work, { recursive: true, force: true });
}
process.on('exit', () => {
  procs.killAllSync();
  lab?.destroySync();
  rmSync(work, { recursive: true, force: true });
});
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    log(`${sig}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });
}
const maxMinutes = Number(values['max-minutes']);
setTimeout(() => {
  log(`--max-minutes ${maxMinutes} reached: cleaning up`);
  void cleanup().finally(() => process.exit(124));
}, maxMinutes * 60_000).unref();

/** Largest peak RSS of a Node client in a result, for the log line ('' when not measured). */
function maxRss(r: ScenarioResult): string {
  const rss = ((r.extra.clients ?? []) as { maxRssMiB?: number }[])
    .map((c) => c.maxRssMiB ?? 0)
    .filter((x) => x > 0);
  return rss.length ? `, client peak RSS ${Math.max(...rss)} MiB${gcOf(r)}` : '';
}

/** Garbage collection of each Node client over its life, ms minor + major (count), for the log line. */
function gcOf(r: ScenarioResult): string {
  type Gc = { minorMs: number; majorMs: number; minor: number; major: number };
  const gc = ((r.extra.clients ?? []) as { gc?: Gc }[]).map((c) => c.gc).filter((g) => g !== undefined);
  if (!gc.length) return '';
  return `, clients' GC ms ${gc.map((g) => `${g.minorMs}+${g.majorMs} (${g.minor}+${g.major})`).join(' ')}`;
}

/** CPU-seconds of each client in the window, for the log line ('' when not measured). */
function clientCpu(r: ScenarioResult): string {
  const cpu = r.extra.clientCpuSeconds as number[] | undefined;
  return cpu?.length ? `, clients' CPU-s ${cpu.join(' ')}` : '';
}

/** Each Node client's download() milestones (client.mjs `events`), ms after the go signal. */
function startLines(r: ScenarioResult): string {
  type C = { marks?: { go?: number; done?: number }; events?: [number, string, string][] };
  const clients = (r.extra.clients ?? []) as C[];
  return clients
    .map((c, i) => {
      const done = c.marks?.done;
      if (done === undefined || !c.events) return '';
      const t0 = done - r.times[i]! * 1000;
      const short = (msg: string) => msg.replace(/^download: /, '');
      const parts = [`go ${(c.marks!.go! - t0).toFixed(0)}`];
      for (const [t, msg, peer] of c.events)
        parts.push(
          `${short(msg)}${peer ? ` ${peer.replace(/^.*\.(\d+):\d+$/, '.$1')}` : ''} ${(t - t0).toFixed(0)}`,
        );
      return `c${String(i + 1).padStart(2, '0')}: ${parts.join(', ')}`;
    })
    .filter(Boolean)
    .join('\n');
}

/**
 * Writes `bytes` to a scratch file and deletes it, so that the next method's downloads land on memory
 * this VM has touched before. On this benchmark's machine (a VM) the first write to a guest page never
 * touched, or given back to the host, costs the host a fault: `perf` put 31 % of a 1 Gbit/s N = 4 run's
 * samples in the kernel's copy into fresh tmpfs pages, and whichever method ran first paid it (N = 4,
 * 2026-12-07: BootTorrent 12.0 CPU-s when first, 8.9 when second; aria2c 10.7 when second, 11.6 when
 * first). --no-warm skips it.
 */
function warmMemory(bytes: number): void {
  const file = join(work, 'warm.bin');
  const chunk = Buffer.alloc(1 << 20, 1);
  const fd = openSync(file, 'w');
  try {
    for (let at = 0; at < bytes; at += chunk.length) writeSync(fd, chunk, 0, chunk.length, at);
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
}

/** One run of `method` at the context's N; a failure is a result with `ok: false` (logged). */
async function runOnce(ctx: Ctx, method: Method): Promise<ScenarioResult> {
  // every method finds the scratch memory in the same state (see warmMemory)
  if (!values['no-warm']) warmMemory((ctx.n + 2) * cfg.imageBytes);
  const runner = {
    boottorrent: (c: Ctx) => runBootTorrent(c),
    proto: (c: Ctx) => runBootTorrent(c, 'proto'),
    http: runHttp,
    original: runOriginal,
  }[method];
  try {
    return await runner(ctx);
  } catch (err) {
    log(`${method} N=${ctx.n} failed: ${(err as Error).message}`);
    await procs.killAll(1000);
    return {
      method,
      n: ctx.n,
      ok: false,
      error: (err as Error).message,
      times: [],
      last: NaN,
      median: NaN,
      serverTxBytes: NaN,
      cpuSeconds: NaN,
      machineBusy: NaN,
      extra: {},
    };
  }
}

async function main() {
  const imageDir = join(work, 'image');
  mkdirSync(imageDir);
  const fd = openSync(join(imageDir, 'image.bin'), 'w');
  for (let left = cfg.imageBytes; left > 0; left -= 1 << 20)
    writeSync(fd, randomBytes(Math.min(left, 1 << 20)));
  closeSync(fd);

  const maxN = Math.max(...ns);
  lab = await createLab({
    clients: maxN,
    clientMbit: cfg.clientMbit,
    serverMbit: cfg.serverMbit,
    ...(cfg.clientNotsentLowat !== undefined ? { clientNotsentLowat: cfg.clientNotsentLowat } : {}),
    clientCongestion: clientCc,
    serverCongestion: serverCc,
    log: vlog,
  });
  log(
    `lab ${lab.id}: server + ${maxN} clients, ${cfg.clientMbit} Mbit/s clients, ${cfg.serverMbit} Mbit/s server, ` +
      `image ${sizeMiB} MiB, scratch ${work}`,
  );

  const results: ScenarioResult[] = [];
  let seq = 0;
  const bps = (mbit: number) => mbit * 1e6;
  for (const n of ns) {
    const bound = kumarRossBound({
      fileBytes: cfg.imageBytes,
      clients: n,
      serverUpBps: bps(cfg.serverMbit),
      clientUpBps: bps(cfg.clientMbit),
      clientDownBps: bps(cfg.clientMbit),
    });
    // Generous: 2.5x the client-server time plus a minute.
    const httpTime = (n * cfg.imageBytes * 8) / bps(cfg.serverMbit);
    const ctx: Ctx = {
      lab,
      procs,
      work,
      imageDir,
      imageBytes: cfg.imageBytes,
      n,
      timeoutSec: Math.ceil(2.5 * Math.max(httpTime, bound.seconds) + 60),
      opentracker,
      pieceLength: cfg.pieceLength,
      superSeed: cfg.superSeed,
      traceMs: Number(values['trace-ms']),
      log,
    };
    const runs = new Map<Method, { result: ScenarioResult; seq: number }[]>(methods.map((m) => [m, []]));
    for (let round = 0; round < repeat; round++) {
      for (const method of roundOrder(methods, round)) {
        const r = await runOnce(ctx, method);
        runs.get(method)!.push({ result: r, seq: seq++ });
        if (!r.ok) continue;
        const tag = repeat > 1 ? ` (round ${round + 1}/${repeat})` : '';
        log(
          `N=${n} ${method}${tag}: last ${r.last.toFixed(1)} s, median ${r.median.toFixed(1)} s, bound ${bound.seconds.toFixed(1)} s, ` +
            `server sent ${(r.serverTxBytes / cfg.imageBytes).toFixed(2)}x image, our CPU ${((100 * r.cpuSeconds) / r.last / 2).toFixed(0)}% ` +
            `of 2 cores (${r.cpuSeconds.toFixed(2)} CPU-s), machine busy ${(100 * r.machineBusy).toFixed(0)}%` +
            maxRss(r) +
            clientCpu(r),
        );
        const trace = r.extra.trace as TraceSeries | undefined;
        if (trace) {
          const doneMs = r.times.map((x) => x * 1000);
          log(`N=${n} ${method} timeline:\n${traceTable(trace, doneMs)}`);
          log(`N=${n} ${method} milestones:\n${traceSummary(trace, cfg.imageBytes, doneMs)}`);
          const starts = startLines(r);
          if (starts) log(`N=${n} ${method} each client's start, ms after go:\n${starts}`);
        }
      }
    }
    const combined = methods.map((m) => combineRounds(runs.get(m)!));
    results.push(...combined);
    const ratios = roundRatios(combined, n, bound.seconds);
    if (ratios) log(ratios);
  }

  const rows = summarize(cfg, results);
  const table = markdownTable(cfg, rows);
  process.stdout.write(`${table}\n`);
  if (!values.timelines) {
    for (const r of results) {
      for (const c of (r.extra.clients ?? []) as { timeline?: unknown }[]) delete c.timeline;
    }
  }
  if (values.json)
    writeFileSync(values.json, `${JSON.stringify({ config: cfg, labId: lab.id, results }, null, 2)}\n`);
  if (values.docs) {
    writeDocs(repo, cfg, table, svgPlot(cfg, rows));
    log('wrote docs/performance.md (## swarm) and docs/swarm.svg');
  }
  return results.every((r) => r.ok) ? 0 : 1;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  log(`failed: ${(err as Error).stack ?? String(err)}`);
} finally {
  await cleanup();
}
process.exit(code);
