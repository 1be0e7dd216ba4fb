// Boot storm: N machines boot at once over the swarm benchmark's shaped links, up to loading the OS.
//
//   node tools/bench/storm/storm.ts [--n 2,4,8,16] [--json FILE] [--mbit 20] [--size-mib 64]
//        [--seed-time 30] [--seed-while-needed true|false] [--seed-time-max 120] [--phase1-dir DIR]
//        [--max-minutes 20] [--keep] [--seeder-share 0.1]
//
// Two methods in one run: `server-phase1` (today's one stage: iPXE loads kernel, base, node, agent
// and payload from the server) and `peer-phase1` (iPXE loads kernel, base and payload; /init's
// runtime script fetches Node + agent from the server or, by redirect, from a machine holding it).
// The server is the real startBootServer (server.mjs) for a project with one kexec OS of --size-mib
// and a `machines:` entry that boots it at once (project.ts). Each client runs client.sh under
// busybox in its own namespace: boot script, its files, the runtime script, then the real agent
// bundle with the Node it got, which downloads the OS over BitTorrent from the seeder and the other
// clients, seeds it for the project's seed_time (or until the server says no machine waits for it,
// general.seed_while_needed) and runs kexec: a stub (kexec-stub.sh) that records
// the command line and ends the agent at `kexec -e`. Reports per N: phase1Last (s until every client
// holds phase-1: every file in hand, the runtime's hash checked; unpacking not counted), osLast (s
// until every client runs kexec -e, ready to load its OS), the server's phase-1 bytes (its HTTP side,
// /phase1/* and /runtime/*) and OS bytes (its seeder and web seed). Needs root (network namespaces).
import { readFileSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { loadProject } from '@boottorrent/config';
import {
  buildOut,
  cacheHome,
  DEFAULT_LOADER_SLOTS,
  DEFAULT_SEEDER_SHARE,
  DEFAULT_RUNTIME_PEER_SLOTS,
  DEFAULT_RUNTIME_SERVER_SLOTS,
  type RuntimeReport,
} from '@boottorrent/server';
import { parseCli } from '../swarm/cli.ts';
import { createLab, SUBNET, type Lab } from '../swarm/netns.ts';
import { Procs } from '../swarm/procs.ts';
import { MAC_PREFIX, OS_NAME, writeStormProject } from './project.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = join(HERE, '../../..');
const METHODS = ['server-phase1', 'peer-phase1'] as const;
type Method = (typeof METHODS)[number];

type Milestone = 'loader' | 'phase1' | 'agent' | 'downloaded' | 'ready';

interface Result {
  method: Method;
  n: number;
  /** Seconds until the last client held phase-1 (loader files, and the runtime's hash checked). */
  phase1Last: number;
  /** Seconds until the last client had the loader's files. */
  loaderLast: number;
  /** Seconds until the last client started its agent (phase-1 unpacked: CPU-bound on a shared host). */
  agentLast: number;
  /** Seconds until the last client had the OS (every piece checked), before seeding it. */
  osDownloadedLast: number;
  /** Seconds until the last client ran `kexec -e`: ready to load its OS, after seeding. */
  osLast: number;
  serverPhase1Bytes: number;
  serverLoaderBytes: number;
  serverRuntimeBytes: number;
  /** What the server's seeder and web seed sent (the OS). */
  serverOsBytes: number;
  runtimeFromServer: number;
  runtimeFromPeers: number;
  failures: number;
  cpuSeconds: number;
  /** Longest unpacking of phase-1 by one client (phase1 to agent start), s. */
  unpackMax: number;
  /**
   * osLast without each client's own unpacking: max over clients of ready − (agent − phase1). On
   * machines each unpacks on its own CPU (~1.5 s); here all share two cores, the one-stage clients all
   * at once.
   */
  osLastLessUnpack: number;
  /** Why each agent stopped seeding: no machine waited any more (the server said so), or seed_time. */
  seedStops: { noneWaiting: number; seedTime: number; seedTimeMax: number };
  /** Each client's milestones, s from the start. */
  clients: Record<Milestone, number>[];
  /** The machine's 1-minute load average at the start and the end of the run. */
  load: [number, number];
}

const { values } = parseCli('storm', {
  options: {
    n: { type: 'string', default: '2,4,8,16' },
    methods: { type: 'string', default: METHODS.join(',') },
    json: { type: 'string' },
    mbit: { type: 'string', default: '20' },
    'size-mib': { type: 'string', default: '64' },
    /** The project's general.seed_time (30, the config's default: what a real boot does). */
    'seed-time': { type: 'string', default: '30' },
    /** The project's general.seed_while_needed (true, the config's default). */
    'seed-while-needed': { type: 'string', default: 'true' },
    /** The project's general.seed_time_max (120, the config's default; 0: stop at seed_time). */
    'seed-time-max': { type: 'string', default: '120' },
    'phase1-dir': { type: 'string' },
    'max-minutes': { type: 'string', default: '20' },
    /**
     * Leave the scratch folder: each client's boot script, runtime.log (lines stamped with
     * /proc/uptime), runtime-progress.log (the runtime download's size twice a second), agent.log,
     * kexec.log; per run <method>-<n>-t0 (its start on that clock), -server-events.log (the server's
     * runtime, client and HTTP events) and -tc.txt (each link's tbf counters at the end).
     */
    keep: { type: 'boolean', default: false },
    'server-slots': { type: 'string', default: String(DEFAULT_RUNTIME_SERVER_SLOTS) },
    'peer-slots': { type: 'string', default: String(DEFAULT_RUNTIME_PEER_SLOTS) },
    /** Boot loader files sent at once, first come first served, in peer-phase1 (0: all at once). */
    'loader-slots': { type: 'string', default: String(DEFAULT_LOADER_SLOTS) },
    /** phase1.seeder_share in peer-phase1: the seeder's share of the link while phase-1 is sent (1: no yield). */
    'seeder-share': { type: 'string', default: String(DEFAULT_SEEDER_SHARE) },
  },
});
const ns = values.n.split(',').map(Number);
const mbit = Number(values.mbit);
const sizeMib = Number(values['size-mib']);
const seedTime = Number(values['seed-time']);
const seedTimeMax = Number(values['seed-time-max']);
const seedWhileNeeded = values['seed-while-needed'] === 'true';
if (!['true', 'false'].includes(values['seed-while-needed'])) {
  process.stderr.write('storm: --seed-while-needed: give true or false\n');
  process.exit(2);
}
const maxMs = Number(values['max-minutes']) * 60_000;
for (const [k, v] of [
  ['n', Math.min(...ns)],
  ['mbit', mbit],
  ['size-mib', sizeMib],
  ['max-minutes', maxMs],
] as const)
  if (!(v > 0)) {
    process.stderr.write(`storm: --${k}: give a positive number\n`);
    process.exit(2);
  }
const seederShare = Number(values['seeder-share']);
if (!(seederShare > 0 && seederShare <= 1)) {
  process.stderr.write('storm: --seeder-share: give a number in (0, 1]\n');
  process.exit(2);
}
for (const [k, v] of [
  ['seed-time', seedTime],
  ['seed-time-max', seedTimeMax],
] as const)
  if (!(Number.isInteger(v) && v >= 0)) {
    process.stderr.write(`storm: --${k}: give whole seconds >= 0\n`);
    process.exit(2);
  }
const methods = values.methods.split(',') as Method[];
for (const m of methods)
  if (!METHODS.includes(m)) {
    process.stderr.write(`storm: --methods: ${m} is not one of ${METHODS.join(', ')}\n`);
    process.exit(2);
  }
// Our own phase-1 cache: the CLI's (cacheHome()/phase1) may be rebuilt by someone else meanwhile.
const phase1Dir = values['phase1-dir'] ?? join(cacheHome(), 'storm-phase1');
const busybox = join(REPO, '.cache/deb/busybox-static/bin/busybox');
const kexecStub = join(HERE, 'kexec-stub.sh');
const xz = execFileSync('sh', ['-c', 'command -v xz']).toString().trim();
const HTTP_PORT = 8080;

const work = await mkdtemp(join(tmpdir(), 'bt-storm-'));
const projectDir = join(work, 'project');
const outDir = join(work, 'out');
const phase1Json = join(work, 'phase1.json');
await writeStormProject(projectDir, {
  hostIp: `${SUBNET}.1`,
  httpPort: HTTP_PORT,
  sizeMib,
  seedTime,
  seedWhileNeeded,
  seedTimeMax,
});
{
  const loaded = await loadProject(projectDir);
  if (!loaded.project) throw new Error(`storm project: ${JSON.stringify(loaded.errors)}`);
  // Phase-1 as `boottorrent start` builds it (xz, the agent bundle of apps/agent), cached by content.
  process.stderr.write(`storm: building phase-1 in ${phase1Dir} (cached after the first run)\n`);
  const out = await buildOut({ project: loaded.project, outDir, phase1Dir });
  await writeFile(phase1Json, JSON.stringify(out.phase1));
}
const bin = join(work, 'bin');
await mkdir(bin);
execFileSync(busybox, ['--install', '-s', bin]);

const procs = new Procs();
let lab: Lab | undefined;
/**
 * Process groups of the clients: a client's shell exits once its agent ran kexec -e, but the busybox
 * httpd it started (the runtime holder) lives on in its group; the group is ended then (the machine
 * left phase-1) and at the latest with the run.
 */
const groups = new Set<number>();
const killGroup = (g: number) => {
  try {
    process.kill(-g, 'SIGKILL');
  } catch {
    // already gone
  }
  groups.delete(g);
};
const killGroups = () => {
  for (const g of groups) killGroup(g);
};
process.on('exit', () => {
  killGroups();
  procs.killAllSync();
  lab?.destroySync();
});
process.on('SIGINT', () => process.exit(130));

async function runOnce(method: Method, n: number): Promise<Result> {
  lab = await createLab({ clients: n, clientMbit: mbit, serverMbit: mbit });
  const load0 = loadavg()[0]!;
  try {
    const server = procs.spawn(
      'server',
      lab.server.ns,
      process.execPath,
      [
        join(HERE, 'server.mjs'),
        projectDir,
        outDir,
        phase1Json,
        method,
        values['server-slots'],
        values['peer-slots'],
        method === 'peer-phase1' ? values['loader-slots'] : '0',
        values['seeder-share'],
      ],
      values.keep ? { STORM_EVENTS: join(work, `${method}-${n}-server-events.log`) } : {},
    );
    const listening = new Promise<void>((resolve) =>
      server.onMessage((m) => m.event === 'listening' && resolve()),
    );
    await Promise.race([
      listening,
      server.exited.then((c) => {
        throw new Error(`server exited ${c}: ${server.stderrTail()}`);
      }),
    ]);
    const cpu0 = childCpu();
    const t0 = performance.now();
    // --keep: the run's start on the clock the clients' and the server's logs use (/proc/uptime).
    if (values.keep)
      await writeFile(
        join(work, `${method}-${n}-t0`),
        readFileSync('/proc/uptime', 'utf8').split(' ')[0]! + '\n',
      );
    const at: Record<Milestone, number[]> = {
      loader: [],
      phase1: [],
      agent: [],
      downloaded: [],
      ready: [],
    };
    const perClient: Partial<Record<Milestone, number>>[] = lab.clients.map(() => ({}));
    const seedStops = { noneWaiting: 0, seedTime: 0, seedTimeMax: 0 };
    const STOPS = {
      'none-waiting': 'noneWaiting',
      'seed-time': 'seedTime',
      'seed-time-max': 'seedTimeMax',
    } as const;
    const dirs: string[] = [];
    let failed: (e: Error) => void = () => {};
    const failure = new Promise<never>((_, reject) => (failed = reject));
    const clients = lab.clients.map(async (host, i) => {
      const dir = join(work, `${method}-${n}-${host.name}`);
      dirs.push(dir);
      const mac = `${MAC_PREFIX}00:${(n & 0xff).toString(16).padStart(2, '0')}:${(i + 1).toString(16).padStart(2, '0')}`;
      await mkdir(dir);
      const p = procs.spawn(host.name, host.ns, busybox, ['sh', join(HERE, 'client.sh')], {
        BB_BIN: bin,
        SERVER: `${lab!.server.ip}:${HTTP_PORT}`,
        MAC: mac,
        IP: host.ip,
        WORK: dir,
        XZ: xz,
        KEXEC: kexecStub,
      });
      groups.add(p.pid);
      p.onMessage((m) => {
        const t = (performance.now() - t0) / 1000;
        if (typeof m.event === 'string' && m.event in at) {
          at[m.event as Milestone].push(t);
          perClient[i]![m.event as Milestone] = round(t);
        }
        if (m.event === 'seedStop') seedStops[STOPS[m.why as keyof typeof STOPS] ?? 'seedTime']++;
        if (m.event === 'error') failed(new Error(`${host.name}: ${p.stderrTail().trim()}`));
      });
      const code = await p.exited;
      // kexec -e: the machine leaves phase-1, its runtime httpd with it.
      killGroup(p.pid);
      if (code !== 0) throw new Error(`${host.name} exited ${code}: ${p.stderrTail()}`);
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `${n - at.ready.length} of ${n} clients not ready after ${values['max-minutes']} min (raise --max-minutes)`,
            ),
          ),
        maxMs,
      );
    });
    try {
      await Promise.race([Promise.all(clients), failure, timeout]);
    } finally {
      clearTimeout(timer);
    }
    // Each agent ran `kexec -l` with the OS it downloaded, then `kexec -e`.
    for (const dir of dirs) {
      const log = readFileSync(join(dir, 'kexec.log'), 'utf8');
      const os = join(dir, 'oss', OS_NAME);
      const want = `load ${os}/vmlinuz --initrd=${os}/initrd.img --command-line=console=ttyS0`;
      if (!log.startsWith(want) || !log.includes('\nexec'))
        throw new Error(`${dir}/kexec.log: expected "${want}" then "exec", got ${JSON.stringify(log)}`);
    }
    const report = await new Promise<RuntimeReport & { os: { seeder: number; webSeed: number } }>(
      (resolve) => {
        server.onMessage((m) => m.event === 'report' && resolve(m as never));
        server.send('report');
      },
    );
    if (values.keep) {
      // Each link's tbf counters (sent, dropped, overlimits): uploads in the clients' namespaces,
      // downloads on the bridge's ports.
      const tcs = [lab.server, ...lab.clients].map((h) => `## ${h.name} upload\n${tcStats(h.ns)}`);
      tcs.push(`## bridge (downloads)\n${tcStats(lab.bridgeNs)}`);
      await writeFile(join(work, `${method}-${n}-tc.txt`), tcs.join('\n'));
    }
    await procs.killAll();
    const cpuSeconds = childCpu() - cpu0;
    const b = report.phase1Bytes;
    const last = (xs: number[]) => round(Math.max(...xs));
    return {
      method,
      n,
      phase1Last: last(at.phase1),
      loaderLast: last(at.loader),
      agentLast: last(at.agent),
      osDownloadedLast: last(at.downloaded),
      osLast: last(at.ready),
      unpackMax: round(Math.max(...perClient.map((c) => c.agent! - c.phase1!))),
      osLastLessUnpack: round(Math.max(...perClient.map((c) => c.ready! - (c.agent! - c.phase1!)))),
      seedStops,
      clients: perClient as Record<Milestone, number>[],
      serverPhase1Bytes: b.loader + b.runtime,
      serverLoaderBytes: b.loader,
      serverRuntimeBytes: b.runtime,
      serverOsBytes: report.os.seeder + report.os.webSeed,
      runtimeFromServer: report.stats.fromServer,
      runtimeFromPeers: report.stats.fromPeers,
      failures: Object.values(report.stats.failures).reduce((a, x) => a + x, 0),
      cpuSeconds: round(cpuSeconds),
      load: [round(load0), round(loadavg()[0]!)],
    };
  } finally {
    killGroups();
    await procs.killAll();
    await lab.destroy();
    lab = undefined;
  }
}

function tcStats(ns: string): string {
  try {
    return execFileSync('tc', ['-s', '-n', ns, 'qdisc', 'show']).toString();
  } catch (e) {
    return `tc: ${(e as Error).message}\n`;
  }
}

/** CPU seconds of every child process this one has reaped (clients, their wget/xz, the server). */
function childCpu(): number {
  const f = readFileSync('/proc/self/stat', 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

const round = (x: number) => Math.round(x * 10) / 10;
const mb = (x: number) => (x / 1e6).toFixed(1);
const results: Result[] = [];
for (const n of ns) {
  for (const method of methods) {
    // A run that fails (a client, the server, the time limit) is one line; the exit handler cleans up.
    const r = await runOnce(method, n).catch((e: unknown) => {
      process.stderr.write(`storm: ${method} n=${n}: ${(e as Error).message.trim()}\n`);
      if (!values.keep) rmSync(work, { recursive: true, force: true });
      else process.stderr.write(`storm: kept ${work}\n`);
      process.exit(1);
    });
    results.push(r);
    process.stderr.write(
      `storm: ${method} n=${n}: phase-1 ${r.phase1Last} s (loader ${r.loaderLast} s), agents started ${r.agentLast} s, OS downloaded ${r.osDownloadedLast} s, ready ${r.osLast} s (${r.osLastLessUnpack} s less unpacking); server ${mb(r.serverPhase1Bytes)} MB phase-1, ${mb(r.serverOsBytes)} MB OS; runtime ${r.runtimeFromServer} from the server / ${r.runtimeFromPeers} from peers, ${r.failures} failures; seeding stopped ${r.seedStops.noneWaiting} × none waiting, ${r.seedStops.seedTime} × seed_time, ${r.seedStops.seedTimeMax} × seed_time_max; ${r.cpuSeconds} CPU-s; load ${r.load.join(' → ')}\n`,
    );
  }
}
const ratio = (r: Result, k: 'phase1Last' | 'osLast' | 'osLastLessUnpack') => {
  const ref = results.find((x) => x.n === r.n && x.method === 'server-phase1');
  return ref ? (r[k] / ref[k]).toFixed(2) : '-';
};
const lines = [
  '| N | method | all hold phase-1 (s) | ratio | all have the OS (s) | all ready to load (s) | ratio | same less unpacking (s) | ratio | server phase-1 MB | server OS MB | runtime from server / peers | CPU-s | load |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
];
for (const r of results) {
  lines.push(
    `| ${r.n} | ${r.method} | ${r.phase1Last} | ${ratio(r, 'phase1Last')} | ${r.osDownloadedLast} | ${r.osLast} | ${ratio(r, 'osLast')} | ${r.osLastLessUnpack} | ${ratio(r, 'osLastLessUnpack')} | ${mb(r.serverPhase1Bytes)} | ${mb(r.serverOsBytes)} | ${r.method === 'peer-phase1' ? `${r.runtimeFromServer} / ${r.runtimeFromPeers}` : '-'} | ${r.cpuSeconds} | ${r.load.join('–')} |`,
  );
}
process.stdout.write(lines.join('\n') + '\n');
if (values.json)
  await writeFile(
    values.json,
    JSON.stringify(
      {
        mbit,
        sizeMib,
        seedTime,
        seedWhileNeeded,
        seedTimeMax,
        seederShare,
        date: new Date().toISOString(),
        results,
      },
      null,
      2,
    ),
  );
if (values.keep) process.stderr.write(`storm: kept ${work}\n`);
else await rm(work, { recursive: true, force: true });
