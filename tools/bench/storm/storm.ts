// Boot storm: N machines fetch phase-1 at once over the swarm benchmark's shaped links.
//
//   node tools/bench/storm/storm.ts [--n 2,4,8,16] [--json FILE] [--mbit 20] [--phase1-dir DIR]
//
// Two methods in one run: `server-phase1` (today's one stage: iPXE loads kernel, base, node, agent
// and payload from the server) and `peer-phase1` (iPXE loads kernel, base and payload; /init's
// runtime script fetches Node + agent from the server or, by redirect, from a machine holding it).
// Each client runs client.sh under busybox in its own namespace; the server is the real
// startHttpServer with the real runtime scheduler (server.mjs). Reports per N the time until every
// client holds phase-1 (phase1Last, s: every file in hand, the runtime's hash checked; unpacking is
// the same for both methods and not counted) and the server's phase-1 bytes (what its HTTP side sent for
// /phase1/* and /runtime/*). osLast (until every client is ready to load its OS) is not measured
// yet: null. Needs root (network namespaces).
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { buildPayload } from '@boottorrent/initrd-builder';
import {
  cacheHome,
  DEFAULT_LOADER_SLOTS,
  DEFAULT_RUNTIME_PEER_SLOTS,
  DEFAULT_RUNTIME_SERVER_SLOTS,
  type RuntimeReport,
} from '@boottorrent/server';
import { parseCli } from '../swarm/cli.ts';
import { createLab, type Lab } from '../swarm/netns.ts';
import { Procs } from '../swarm/procs.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = join(HERE, '../../..');
const METHODS = ['server-phase1', 'peer-phase1'] as const;
type Method = (typeof METHODS)[number];

interface Result {
  method: Method;
  n: number;
  /** Seconds until the last client held phase-1 (loader files, and the runtime unpacked). */
  phase1Last: number;
  /** Seconds until the last client had the loader's files. */
  loaderLast: number;
  /** Not measured yet. */
  osLast: null;
  serverPhase1Bytes: number;
  serverLoaderBytes: number;
  serverRuntimeBytes: number;
  runtimeFromServer: number;
  runtimeFromPeers: number;
  failures: number;
  cpuSeconds: number;
}

const { values } = parseCli('storm', {
  options: {
    n: { type: 'string', default: '2,4,8,16' },
    methods: { type: 'string', default: METHODS.join(',') },
    json: { type: 'string' },
    mbit: { type: 'string', default: '20' },
    'phase1-dir': { type: 'string' },
    'server-slots': { type: 'string', default: String(DEFAULT_RUNTIME_SERVER_SLOTS) },
    'peer-slots': { type: 'string', default: String(DEFAULT_RUNTIME_PEER_SLOTS) },
    /** Boot loader files sent at once, first come first served, in peer-phase1 (0: all at once). */
    'loader-slots': { type: 'string', default: String(DEFAULT_LOADER_SLOTS) },
  },
});
const ns = values.n.split(',').map(Number);
const mbit = Number(values.mbit);
const phase1Dir = values['phase1-dir'] ?? join(cacheHome(), 'phase1');
const busybox = join(REPO, '.cache/deb/busybox-static/bin/busybox');
const xz = execFileSync('sh', ['-c', 'command -v xz']).toString().trim();

const work = await mkdtemp(join(tmpdir(), 'bt-storm-'));
const files = join(work, 'files');
await mkdir(files);
for (const f of ['vmlinuz', 'base.cpio.xz', 'node.cpio.xz', 'agent.cpio.xz', 'runtime.cpio.xz'])
  await copyFile(join(phase1Dir, f), join(files, f));
await buildPayload({ out: join(files, 'payload.cpio.gz'), manifest: { storm: true }, torrents: [] });
const bin = join(work, 'bin');
await mkdir(bin);
execFileSync(busybox, ['--install', '-s', bin]);

const procs = new Procs();
let lab: Lab | undefined;
/**
 * Process groups of the clients: a client's shell exits once it holds phase-1, but the busybox
 * httpd it started (the runtime holder) lives on in its group until the run ends.
 */
const groups = new Set<number>();
const killGroups = () => {
  for (const g of groups) {
    try {
      process.kill(-g, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  groups.clear();
};
process.on('exit', () => {
  killGroups();
  procs.killAllSync();
  lab?.destroySync();
});
process.on('SIGINT', () => process.exit(130));

async function runOnce(method: Method, n: number): Promise<Result> {
  lab = await createLab({ clients: n, clientMbit: mbit, serverMbit: mbit });
  try {
    const server = procs.spawn('server', lab.server.ns, process.execPath, [
      join(HERE, 'server.mjs'),
      lab.server.ip,
      '8080',
      method,
      files,
      values['server-slots'],
      values['peer-slots'],
      method === 'peer-phase1' ? values['loader-slots'] : '0',
    ]);
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
    const loaderAt: number[] = [];
    const phase1At: number[] = [];
    const clients = lab.clients.map((host, i) => {
      const dir = join(work, `${method}-${n}-${host.name}`);
      const mac = `02:00:00:00:${(n & 0xff).toString(16).padStart(2, '0')}:${(i + 1).toString(16).padStart(2, '0')}`;
      return mkdir(dir).then(() => {
        const p = procs.spawn(host.name, host.ns, busybox, ['sh', join(HERE, 'client.sh')], {
          BB_BIN: bin,
          SERVER: `${lab!.server.ip}:8080`,
          MAC: mac,
          WORK: dir,
          XZ: xz,
        });
        groups.add(p.pid);
        p.onMessage((m) => {
          const t = (performance.now() - t0) / 1000;
          if (m.event === 'loader') loaderAt.push(t);
          if (m.event === 'phase1') phase1At.push(t);
        });
        return p.exited.then((code) => {
          if (code !== 0) throw new Error(`${host.name} exited ${code}: ${p.stderrTail()}`);
        });
      });
    });
    await Promise.all(clients);
    const report = await new Promise<RuntimeReport>((resolve) => {
      server.onMessage((m) => m.event === 'report' && resolve(m as unknown as RuntimeReport));
      server.send('report');
    });
    await procs.killAll();
    const cpuSeconds = childCpu() - cpu0;
    const b = report.phase1Bytes;
    return {
      method,
      n,
      phase1Last: round(Math.max(...phase1At)),
      loaderLast: round(Math.max(...loaderAt)),
      osLast: null,
      serverPhase1Bytes: b.loader + b.runtime,
      serverLoaderBytes: b.loader,
      serverRuntimeBytes: b.runtime,
      runtimeFromServer: report.stats.fromServer,
      runtimeFromPeers: report.stats.fromPeers,
      failures: Object.values(report.stats.failures).reduce((a, x) => a + x, 0),
      cpuSeconds: round(cpuSeconds),
    };
  } finally {
    killGroups();
    await procs.killAll();
    await lab.destroy();
    lab = undefined;
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
const methods = values.methods.split(',') as Method[];
for (const m of methods)
  if (!METHODS.includes(m)) throw new Error(`--methods: ${m} is not one of ${METHODS.join(', ')}`);
for (const n of ns) {
  for (const method of methods) {
    const r = await runOnce(method, n);
    results.push(r);
    process.stderr.write(
      `storm: ${method} n=${n}: phase-1 ${r.phase1Last} s (loader ${r.loaderLast} s), server ${mb(r.serverPhase1Bytes)} MB, runtime ${r.runtimeFromServer} from the server / ${r.runtimeFromPeers} from peers, ${r.cpuSeconds} CPU-s\n`,
    );
  }
}
const lines = [
  '| N | method | all hold phase-1 (s) | ratio | loader files (s) | server phase-1 MB | runtime from server / peers | CPU-s |',
  '|---|---|---|---|---|---|---|---|',
];
for (const r of results) {
  const ref = results.find((x) => x.n === r.n && x.method === 'server-phase1');
  lines.push(
    `| ${r.n} | ${r.method} | ${r.phase1Last} | ${ref ? (r.phase1Last / ref.phase1Last).toFixed(2) : '-'} | ${r.loaderLast} | ${mb(r.serverPhase1Bytes)} | ${r.method === 'peer-phase1' ? `${r.runtimeFromServer} / ${r.runtimeFromPeers}` : '-'} | ${r.cpuSeconds} |`,
  );
}
process.stdout.write(lines.join('\n') + '\n');
if (values.json)
  await writeFile(values.json, JSON.stringify({ mbit, date: new Date().toISOString(), results }, null, 2));
await rm(work, { recursive: true, force: true });
