import { buildOut } from '../server/build.js';
import { checkPrivileges } from '../server/preflight.js';
import { startServer } from '../server/services.js';
import { createView, type ViewMode } from '../server/view.js';
import { defineCommand } from '../command.js';
import { err } from '../output.js';
import { requireProject } from './_project.js';

export const startCommand = defineCommand({
  name: 'start',
  summary: 'Serve the boot: DHCP, TFTP, HTTP, tracker and seeder, with a live view of the clients.',
  usage: 'boottorrent start [dir] [--json] [--out <dir>] [--host-root <dir>]... [--cmdline <text>]',
  options: {
    dir: { type: 'string' },
    json: { type: 'boolean' },
    out: { type: 'string' },
    'host-root': { type: 'string', multiple: true },
    'phase1-dir': { type: 'string' },
    cmdline: { type: 'string' },
    'no-seeder': { type: 'boolean' },
  },
  optionHelp: {
    dir: 'The project directory (default: the argument, else the current directory)',
    json: 'One JSON object per event on stdout instead of the live view',
    out: 'Output directory (default <project>/out)',
    'host-root': 'Also look here for the kernel, its modules, busybox and kexec; repeatable',
    'phase1-dir': 'Where phase-1 is built and cached (default <out>/phase1); one can serve several projects',
    cmdline: 'Extra kernel command line for phase-1, e.g. "bt.os=debian" to boot one OS without the menu',
    'no-seeder': 'Run no BitTorrent seeder: clients get the OS from each other and the HTTP web seed',
  },
  positionals: [0, 1],
  details:
    'Needs root (or CAP_NET_BIND_SERVICE + CAP_NET_RAW) for DHCP and ports below 1024. Ctrl+C or SIGTERM\n' +
    'stops gracefully; a second Ctrl+C exits at once.',
  async run({ values, positionals }) {
    const dir = (values.dir as string | undefined) ?? positionals[0] ?? '.';
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
      outDir: values.out as string | undefined,
      hostRoots: values['host-root'] as string[] | undefined,
      phase1Dir: values['phase1-dir'] as string | undefined,
      signal: stop.signal,
      onProgress: (e) => {
        if (e.step === 'done') err(`build ${e.what}: ${e.cached ? 'up to date' : `${e.ms} ms`}`);
      },
    });
    if (stop.signal.aborted) return 0;
    const server = await startServer({
      project,
      out: built,
      extraCmdline: values.cmdline as string | undefined,
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
  },
});
