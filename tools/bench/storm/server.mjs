// The boot server's HTTP side for the storm benchmark, run inside the server's namespace: the real
// startHttpServer (per-client iPXE script, phase-1 files) with the real runtime routes and scheduler
// of @boottorrent/server. Prints {"event":"listening"}; on a "report" line on stdin it prints
// {"event":"report", ...GET /api/v1/runtime}. With loader slots > 0 the boot loader's files go first
// come, first served (ArrivalGate).
import { basename } from 'node:path';
import { createInterface } from 'node:readline';
import { ClientTable, runtimeService, startHttpServer } from '@boottorrent/server';

const [host, port, method, dir, serverSlots, peerSlots, loaderSlots] = process.argv.slice(2);
const f = (name) => `${dir}/${name}`;
const clients = new ClientTable();
const twoStage = method === 'peer-phase1';
const runtime = {
  path: f('runtime.cpio.xz'),
  sha256: '',
  size: 0,
  parts: [],
};
const loaderNames = [
  'vmlinuz',
  'base.cpio.xz',
  'payload.cpio.gz',
  ...(twoStage ? [] : ['node.cpio.xz', 'agent.cpio.xz']),
];
const svc = runtimeService({
  runtime: twoStage ? runtime : null,
  loaderFiles: new Map(loaderNames.map((n) => [n, f(n)])),
  loaderSlots: Number(loaderSlots ?? 0),
  clients,
  emit: (e) => process.stdout.write(JSON.stringify({ event: 'runtime', ...e }) + '\n'),
  serverSlots: Number(serverSlots),
  peerSlots: Number(peerSlots),
});
const baseUrl = `http://${host}:${port}`;
const initrds = twoStage
  ? [f('base.cpio.xz'), f('payload.cpio.gz')]
  : [f('base.cpio.xz'), f('node.cpio.xz'), f('agent.cpio.xz'), f('payload.cpio.gz')];
const http = await startHttpServer({
  host,
  port: Number(port),
  baseUrl,
  phase1: { kernel: f('vmlinuz'), initrds },
  cmdline: `console=ttyS0 bt.server=${host}${twoStage ? ` bt.runtime=${baseUrl}/runtime/${basename(runtime.path)}` : ''}`,
  webSeedFiles: new Map(),
  clients,
  routes: svc.routes,
  onRequest: (e) => svc.onRequest(e),
});
process.stdout.write(JSON.stringify({ event: 'listening', port: http.port }) + '\n');
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'report') process.stdout.write(JSON.stringify({ event: 'report', ...svc.report() }) + '\n');
});
process.on('SIGTERM', () => void http.close().then(() => process.exit(0)));
