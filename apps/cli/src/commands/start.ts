import { buildOut } from '../server/build.js';
import { checkPrivileges } from '../server/preflight.js';
import { startServer } from '../server/services.js';
import { createView, type ViewMode } from '../server/view.js';
import type { ArgsOf } from '../command.js';
import { err } from '../output.js';
import { requireProject } from './_project.js';
import type { start } from './index.js';

export async function run({ values, positionals }: ArgsOf<typeof start>): Promise<number> {
  const dir = values.dir ?? positionals.dir;
  const project = await requireProject(dir);
  const c = project.config;
  await checkPrivileges({
    dhcp: c.dhcp.enable,
    lowPorts: [c.tftp.enable ? c.tftp.port : 65535, c.http.port, c.tracker.port, c.torrent.port].some(
      (p) => p < 1024,
    ),
  });
  const mode: ViewMode = values.json ? 'json' : process.stdout.isTTY ? 'tty' : 'lines';
  const view = createView(mode, (s) => process.stdout.write(s));
  const stop = new AbortController();
  let signals = 0;
  const onSignal = () => {
    signals++;
    if (signals > 1) process.exit(130);
    err('stopping (Ctrl+C again to exit at once)');
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const built = await buildOut({
    project,
    outDir: values.out,
    hostRoots: values['host-root'],
    phase1Dir: values['phase1-dir'],
    signal: stop.signal,
    onProgress: (e) => {
      if (e.step === 'done') err(`build ${e.what}: ${e.cached ? 'up to date' : `${e.ms} ms`}`);
    },
  });
  if (stop.signal.aborted) return 0;
  const server = await startServer({
    project,
    out: built,
    extraCmdline: values.cmdline,
    seeder: !values['no-seeder'],
    onEvent: (e) => view.event(e),
  });
  view.attach(server);
  if (mode === 'json')
    process.stdout.write(JSON.stringify({ time: new Date().toISOString(), type: 'ready' }) + '\n');
  else
    err(
      `ready: serving ${project.oss.length} OS${project.oss.length === 1 ? '' : 'es'} on ${c.general.host_ip}`,
    );
  await new Promise<void>((resolve) => {
    if (stop.signal.aborted) resolve();
    stop.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  view.stop();
  await server.close();
  return 0;
}
