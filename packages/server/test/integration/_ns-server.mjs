// The boot server as built (dist/, like the CLI the lab runs), run inside a test's network
// namespace: DHCP answers broadcasts, so it never runs in the test's own namespace.
// One JSON line per event on stdout.
import { loadProject } from '@boottorrent/config';
import { startBootServer } from '../../dist/index.js'; // built by npm run build, as CI does first

const [dir, phase1Dir, seeder] = process.argv.slice(2);
const out = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
const r = await loadProject(dir);
if (!r.project) {
  out({ fatal: r.errors });
  process.exit(1);
}
const server = await startBootServer({
  project: r.project,
  phase1Dir,
  seeder: seeder === 'seeder',
  onEvent: (e) => out({ event: e }),
});
out({ ready: true, loaders: server.out.loaders });
process.once('SIGTERM', () => void server.close().then(() => process.exit(0)));
