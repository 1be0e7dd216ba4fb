// How much the swarm benchmark's shaped network can carry when every client sends to every other at
// once over TCP: the ceiling a BitTorrent swarm could reach on it, without any BitTorrent logic.
//
//   sudo node tools/bench/swarm/mesh.ts [--n 16] [--seconds 15] [--client-mbit 20]
//        [--client-notsent-lowat 65536]
//
// Same namespaces, veths and tbf shaping as swarm.ts (netns.ts). Each client runs mesh-host.mjs: it
// listens, dials every other client once and writes as fast as TCP takes it; the bytes received in the
// last seconds - 3 s (after slow start) are counted. Prints the mean per-host receive rate against the
// link rate and against TCP's payload ceiling (1448 payload bytes per 1514-byte frame). Everything it
// creates is removed on exit, on error and on Ctrl+C.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { CLIENT_NOTSENT_LOWAT, createLab, type Lab } from './netns.ts';
import { parseCli } from './cli.ts';

const { values } = parseCli('mesh', {
  options: {
    n: { type: 'string', default: '16' },
    seconds: { type: 'string', default: '15' },
    'client-mbit': { type: 'string', default: '20' },
    'client-notsent-lowat': { type: 'string', default: String(CLIENT_NOTSENT_LOWAT) },
  },
});
/** Bad arguments: one line, exit 2. */
const usage = (line: string): never => {
  process.stderr.write(`mesh: ${line}\n`);
  process.exit(2);
};
const n = Number(values.n);
const seconds = Number(values.seconds);
const mbit = Number(values['client-mbit']);
if (!Number.isInteger(n) || n < 2 || n > 64) usage('--n: 2..64');
if (!(seconds >= 5 && seconds <= 120)) usage('--seconds: 5..120');
if (!(mbit > 0 && mbit <= 10_000)) usage('--client-mbit: a rate in Mbit/s, e.g. 20');
if (!/^\d+$/.test(values['client-notsent-lowat']))
  usage('--client-notsent-lowat: a byte count (0 = the kernel default)');
if (process.getuid?.() !== 0) {
  process.stderr.write('mesh: needs root (network namespaces and tc); run it with sudo\n');
  process.exit(2);
}

let lab: Lab | undefined;
const procs: ChildProcess[] = [];
const stop = (): void => {
  for (const p of procs) p.kill('SIGKILL');
  lab?.destroySync();
};
process.once('SIGINT', () => {
  stop();
  process.exit(130);
});

const firstLine = (p: ChildProcess): Promise<string> =>
  new Promise((resolve, reject) => {
    let buf = '';
    p.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const i = buf.indexOf('\n');
      if (i >= 0) resolve(buf.slice(0, i));
    });
    p.once('exit', (code) => reject(new Error(`mesh host exited with ${code} before answering`)));
  });

try {
  lab = await createLab({
    clients: n,
    clientMbit: mbit,
    serverMbit: mbit,
    clientNotsentLowat: Number(values['client-notsent-lowat']),
  });
  const ips = lab.clients.map((c) => c.ip).join(',');
  for (const c of lab.clients) {
    const args = ['netns', 'exec', c.ns, process.execPath, join(import.meta.dirname, 'mesh-host.mjs')];
    procs.push(spawn('ip', [...args, c.ip, ips, String(seconds)], { stdio: ['pipe', 'pipe', 'inherit'] }));
  }
  await Promise.all(procs.map(firstLine)); // "ready"
  const results = procs.map(firstLine);
  for (const p of procs) p.stdin!.write('go\n');
  const rates = (await Promise.all(results)).map((line) => {
    const r = JSON.parse(line) as { rx: number; ms: number };
    return (r.rx / r.ms / 1024 / 1024) * 1000;
  });
  const link = (mbit * 1e6) / 8 / 1024 / 1024;
  const payload = (link * 1448) / 1514;
  const mean = rates.reduce((a, b) => a + b, 0) / rates.length;
  process.stdout.write(
    `mesh: lab ${lab.id}, N=${n}, ${mbit} Mbit/s links: received per host ${mean.toFixed(2)} MiB/s mean ` +
      `(min ${Math.min(...rates).toFixed(2)}, max ${Math.max(...rates).toFixed(2)}) = ` +
      `${((mean / link) * 100).toFixed(0)}% of the link, ${((mean / payload) * 100).toFixed(0)}% of TCP's payload ceiling\n`,
  );
} finally {
  for (const p of procs) p.kill('SIGKILL');
  await lab?.destroy();
}
