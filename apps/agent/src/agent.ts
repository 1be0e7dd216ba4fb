import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { clientManifestSchema, type ClientManifest, type ManifestOs } from '@boottorrent/config';
import type { PreparedDownload } from '@boottorrent/seeder';
import {
  parseCmdline,
  parseLease,
  pickServer,
  startPlan,
  withExtraCmdline,
  withManifestPlan,
} from './cmdline.js';
import { Console, type Terminal } from './console.js';
import { AgentError, AgentErrorCode, describeError } from './errors.js';
import { checkRam, DEFAULT_STALL_SECONDS, fetchOs, prepareOs } from './fetch-os.js';
import { oneLine } from './format.js';
import { loadOs, runOnConsole, type LoaderTools } from './loader.js';
import { initialMenu, onKey, onTick, renderMenu, type MenuOutcome } from './menu.js';
import type { AgentPaths } from './paths.js';
import { LogStream } from './log-stream.js';
import { StatusReporter } from './status.js';

/** Options of {@link runAgent}. */
export interface AgentOptions {
  paths: AgentPaths;
  /** Every screen a person may sit at (screens.ts); the menu shows on all, keys come from any. */
  term: Terminal | readonly Terminal[];
  tools?: LoaderTools;
  /** Shell the `s` key opens. @default "/bin/sh" */
  shell?: string;
}

async function chooseOs(
  con: Console,
  names: string[],
  defaultIndex: number,
  timeout: number,
  notice?: string,
) {
  let state = initialMenu(names.length, defaultIndex, timeout);
  if (state.remaining === 0) return { boot: state.index } as const;
  con.write(renderMenu(state, names, notice));
  let deadline = Date.now() + 1000;
  for (;;) {
    const key = await con.nextKey(state.remaining === null ? 60_000 : Math.max(0, deadline - Date.now()));
    let outcome: MenuOutcome;
    if (key === null) {
      if (state.remaining === null) continue;
      [state, outcome] = onTick(state);
      deadline += 1000;
    } else {
      [state, outcome] = onKey(state, key, names.length);
    }
    if (outcome) return outcome;
    con.write(renderMenu(state, names, notice));
  }
}

async function readManifest(paths: AgentPaths): Promise<ClientManifest> {
  const file = join(paths.payload, 'manifest.json');
  const text = await readFile(file, 'utf8').catch(() => {
    throw new AgentError(AgentErrorCode.BadPayload, `no payload: ${file} is missing`, {
      hint: 'the boot script must load the payload initrd; boot through the server',
    });
  });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new AgentError(AgentErrorCode.BadPayload, `${file} is not JSON`);
  }
  const parsed = clientManifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AgentError(
      AgentErrorCode.BadPayload,
      `${file}: ${issue?.path.join('.') ?? ''} ${issue?.message ?? 'invalid'}`,
    );
  }
  if (parsed.data.oss.length === 0) throw new AgentError(AgentErrorCode.BadPayload, `${file} lists no OS`);
  return parsed.data;
}

/**
 * The agent: menu (or `bt.os=`), RAM check, download, seed, load. Any error prints one line and
 * returns to the menu (with the countdown off, so a failing default never loops). Resolves with an
 * exit code only when there is nothing to boot.
 */
export async function runAgent(opts: AgentOptions): Promise<number> {
  const con = new Console(opts.term);
  const text = (p: string) => readFile(p, 'utf8').catch(() => '');
  let args = parseCmdline(await text(opts.paths.cmdline));
  const lease = parseLease(await text(opts.paths.lease));
  let manifest: ClientManifest;
  try {
    manifest = await readManifest(opts.paths);
  } catch (err) {
    con.line(`boottorrent: ${describeError(err)}`);
    return 1;
  }
  args = withManifestPlan(args, manifest, lease.mac);
  const server = pickServer(args, manifest.server.address, lease);
  const reporter = new StatusReporter(StatusReporter.url(server, manifest.server.httpPort, lease.mac), {
    ...(lease.ip ? { ip: lease.ip } : {}),
  });
  // The console's lines go to the server too (best effort), so its dashboard shows why a boot failed.
  const logStream = new LogStream(LogStream.url(server, manifest.server.httpPort, lease.mac));
  con.tap = logStream;
  const names = manifest.oss.map((o) => o.dispname);
  // The server's plan for this machine (bt.os=, bt.menu=) over the manifest's default and countdown.
  const plan = startPlan(args, manifest);
  const indexOf = (name: string | null) => manifest.oss.findIndex((o) => o.name === name);
  const defaultIndex = Math.max(
    0,
    indexOf(plan.preselect) >= 0 ? indexOf(plan.preselect) : indexOf(manifest.defaultOs),
  );
  let auto = plan.boot;
  let timeout = plan.timeout;
  let notice: string | undefined =
    args.os && !plan.boot && indexOf(args.os) < 0 ? `bt.os=${args.os}: there is no such OS` : undefined;
  void reporter.report({ phase: 'phase1', message: `agent on node ${process.version}` });
  con.acquire();
  for (;;) {
    let os: ManifestOs | undefined;
    if (auto) {
      os = manifest.oss.find((o) => o.name === auto);
      if (!os) notice = `bt.os=${auto}: there is no such OS`;
      auto = undefined;
    }
    let prepared: PreparedDownload | undefined;
    if (!os) {
      void reporter.report({ phase: 'menu' });
      // While the menu counts down, the preselected OS's download gets ready (listening, connected to
      // the server's seeder and the peers, nothing asked for): it starts at full speed at zero.
      const early = timeout > 0 ? prepareEarly(manifest.oss[defaultIndex]!) : undefined;
      const outcome = await chooseOs(con, names, defaultIndex, timeout, notice);
      timeout = -1;
      if (early) {
        const ready = await early;
        if ('boot' in outcome && outcome.boot === defaultIndex) prepared = ready;
        else await ready?.close();
      }
      if ('shell' in outcome) {
        const tty = con.release().name;
        con.line(`Exit the shell to come back to the menu${tty ? ` (it runs on ${tty})` : ''}.`);
        await runOnConsole(opts.shell ?? '/bin/sh', [], '/', tty).catch((e: Error) => con.line(e.message));
        con.acquire();
        notice = undefined;
        continue;
      }
      os = manifest.oss[outcome.boot]!;
    }
    notice = await boot(os, prepared).catch((err: unknown) => {
      // One line, never a stack: the menu comes back below it with the same words as its notice.
      const message = oneLine(describeError(err));
      void reporter.report({ phase: 'error', os: os.name, message });
      con.line(`boottorrent: could not boot ${os.dispname}: ${message}`);
      void logStream.flush();
      return `Could not boot ${os.dispname}: ${message}`;
    });
    timeout = -1;
  }

  /**
   * The OS's download prepared (prepareOs), or undefined when that failed or the OS does not fit in
   * RAM: boot() then does it again and says why.
   */
  async function prepareEarly(os: ManifestOs): Promise<PreparedDownload | undefined> {
    try {
      await checkRam(os, opts.paths.meminfo);
      return await prepareOs({ os, manifest, paths: opts.paths, server });
    } catch {
      return undefined;
    }
  }

  async function boot(os: ManifestOs, prepared?: PreparedDownload): Promise<string> {
    con.line(`\x1b[H\x1b[2JBooting ${os.dispname}`);
    try {
      await checkRam(os, opts.paths.meminfo);
    } catch (err) {
      await prepared?.close();
      throw err;
    }
    const dl = await fetchOs({
      prepared,
      os,
      manifest,
      paths: opts.paths,
      con,
      reporter,
      stallSeconds: args.stallSeconds ?? DEFAULT_STALL_SECONDS,
      server,
    });
    const totals = dl.stats();
    await dl.close();
    con.line(`Loading ${os.dispname} (${os.method})`);
    const report = {
      os: os.name,
      progress: 1,
      bytesFromServer: totals.fromServer,
      bytesFromPeers: totals.fromPeers,
      bytesFromWebSeed: totals.fromWebSeed,
      bytesUploaded: totals.uploaded,
    };
    void reporter.report({ phase: 'loading', ...report });
    // bin and qemu run on the screen the user chose (where the last key came from).
    const tty = con.release().name;
    try {
      // 'booted' goes out once the OS really starts (after kexec -l), bounded by the status timeout.
      const code = await loadOs(
        withExtraCmdline(os, args.extra),
        dl.dir,
        opts.tools,
        async () => void (await reporter.report({ phase: 'booted', ...report })),
        tty,
      );
      return `${os.dispname} exited with code ${code}`;
    } finally {
      con.acquire();
    }
  }
}
