// The boot server of the storm benchmark, run inside the server's namespace: the real
// startBootServer of @boottorrent/server for the bench's project (HTTP with the per-client iPXE
// script, phase-1 files, runtime routes and scheduler, status API; the tracker and the seeder of the
// OS). DHCP and TFTP are off in the project (the clients start at the boot script, as iPXE does).
//
//   node server.mjs PROJECT OUT PHASE1_JSON METHOD SERVER_SLOTS PEER_SLOTS LOADER_SLOTS SEEDER_SHARE
//
// PHASE1_JSON is buildPhase1's result, built once by storm.ts. `server-phase1` serves it as one
// stage (the boot loader loads base, node and agent; no runtime URL), `peer-phase1` as built (two
// stages). Prints {"event":"listening"}; on a "report" line on stdin it prints
// {"event":"report", ...GET /api/v1/runtime, "os": {seeder, webSeed}} (bytes the server sent).
import { createWriteStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { loadProject } from '@boottorrent/config';
import { buildOut, startBootServer } from '@boottorrent/server';

const [projectDir, outDir, phase1File, method, serverSlots, peerSlots, loaderSlots, seederShare] =
  process.argv.slice(2);
const loaded = await loadProject(projectDir);
if (!loaded.project) {
  process.stderr.write(`storm server: bad project ${projectDir}: ${JSON.stringify(loaded.errors)}\n`);
  process.exit(1);
}
const c = loaded.project.config;
const project = {
  ...loaded.project,
  config: {
    ...c,
    phase1: {
      ...c.phase1,
      runtime_server_slots: Number(serverSlots),
      runtime_peer_slots: Number(peerSlots),
      loader_slots: Number(loaderSlots),
      seeder_share: Number(seederShare),
    },
  },
};
const built = JSON.parse(readFileSync(phase1File, 'utf8'));
const phase1 = method === 'peer-phase1' ? built : { ...built, loaderInitrds: built.initrds, runtime: null };
// Hashes come from out/hash-cache.json after the first run; the payload names this server.
const out = await buildOut({ project, outDir, phase1 });
const server = await startBootServer({ project, out });
// STORM_EVENTS (--keep): every runtime event, client phase change and HTTP answer, one line each
// ("<uptime s> <JSON>"), to read next to the clients' runtime.log.
if (process.env.STORM_EVENTS) {
  const log = createWriteStream(process.env.STORM_EVENTS);
  const uptime = () => readFileSync('/proc/uptime', 'utf8').split(' ')[0];
  server.on('event', (e) => {
    if (
      e.type === 'runtime' ||
      e.type === 'http' ||
      e.type === 'seeder-yield' ||
      (e.type === 'client' && e.why !== 'progress')
    )
      log.write(`${uptime()} ${JSON.stringify(e)}\n`);
  });
}
process.stdout.write(JSON.stringify({ event: 'listening', port: server.ports.http }) + '\n');
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'report')
    process.stdout.write(
      JSON.stringify({ event: 'report', ...server.phase1(), os: server.uploaded() }) + '\n',
    );
});
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
