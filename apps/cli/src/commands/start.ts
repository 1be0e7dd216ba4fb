import { once } from 'node:events';
import { ensureApiToken } from '@boottorrent/config';
import {
  checkPrivileges,
  describeReload,
  isJournalStream,
  reloadFromDir,
  ServerErrorCode,
  startBootServer,
  type BootServer,
} from '@boottorrent/server';
import { createView, type ViewMode } from '../view.js';
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
  // The machine API's token: projects made before tokens existed get one now (mode 0600).
  const token = await ensureApiToken(project.dir);
  if (token.created)
    err(`wrote the API token to ${token.file} (mode 0600): send it as "Authorization: Bearer <token>"`);
  const mode: ViewMode = values.json ? 'json' : process.stdout.isTTY ? 'tty' : 'lines';
  const view = createView(mode, (s) => process.stdout.write(s), {
    level: values['log-level'],
    journal: isJournalStream(),
  });
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
  // SIGHUP (systemctl reload): re-read the project; a broken one keeps the running one.
  let running: BootServer | null = null;
  process.on('SIGHUP', () => {
    if (!running) return err('reload: not serving yet, SIGHUP ignored');
    void reloadFromDir(running, project.dir).then((r) => {
      if (r.ok) return err(`reloaded: ${describeReload(r.result)}`);
      err(`reload refused, still serving the previous project (${r.problems.length} problem(s)):`);
      for (const line of r.problems) err(`  ${line}`);
    });
  });

  const server = await startBootServer({
    project,
    outDir: values.out,
    hostRoots: values['host-root'],
    phase1Dir: values['phase1-dir'],
    extraCmdline: values.cmdline,
    seeder: !values['no-seeder'],
    signal: stop.signal,
    onBuild: (e) => {
      if (e.step === 'done') err(`build ${e.what}: ${e.cached ? 'up to date' : `${e.ms} ms`}`);
    },
    onEvent: (e) => view.event(e),
  }).catch((e: unknown) => {
    // Ctrl+C during the build or the start: a clean stop, not a failure.
    if (stop.signal.aborted && (e as { code?: unknown }).code === ServerErrorCode.Aborted) return null;
    throw e;
  });
  if (!server) return 0;
  running = server;
  view.attach(server);
  if (mode === 'json')
    process.stdout.write(JSON.stringify({ time: new Date().toISOString(), type: 'ready' }) + '\n');
  else
    err(
      `ready: serving ${project.oss.length} OS${project.oss.length === 1 ? '' : 'es'} on ${c.general.host_ip}`,
    );
  if (!stop.signal.aborted) await once(stop.signal, 'abort');
  view.stop();
  await server.close();
  return 0;
}
