import { EventEmitter } from 'node:events';
import { basename } from 'node:path';
import type { Project } from '@boottorrent/config';
import { buildOut, serverUrls, type BuildEvent, type BuiltOut } from './build.js';
import type { ClientLogs } from './client-logs.js';
import { ClientTable } from './clients.js';
import { ServerError, ServerErrorCode, type Logger } from './errors.js';
import type { ServerEvent, ServerEventMap, ServiceName } from './events.js';
import { Monitor } from './monitor.js';
import { opsRoutes } from './ops-routes.js';
import { applyReload, reloadableProject, type ReloadResult } from './reload.js';
import { checkInterface, whoUses } from './preflight.js';
import type { RuntimeReport } from './runtime.js';
import { SEEDER_YIELD_TICK_MS, SeederYield } from './seeder-yield.js';
import {
  uploadLimitBps,
  wireDhcp,
  wireHttp,
  wireSeeder,
  wireTftp,
  wireTracker,
  type WireContext,
} from './services.js';
import { EventStreams } from './sse.js';

/** Options of {@link startBootServer}. Ports, addresses and services come from the project's config. */
export interface BootServerOptions {
  /** A loaded, validated project (`loadProject` from @boottorrent/config). */
  project: Project;
  /** Where out/ is built. @default <project>/out */
  outDir?: string;
  /** Where phase-1 is built and cached; one can serve several projects. @default <outDir>/phase1 */
  phase1Dir?: string;
  /** Extra roots searched for the kernel, its modules, busybox and kexec. */
  hostRoots?: string[];
  /** An out/ built before (by {@link buildOut}); skips the build. */
  out?: BuiltOut;
  /** Appended to phase-1's kernel command line (e.g. `bt.os=<name>` to skip the menu). */
  extraCmdline?: string;
  /** Run the BitTorrent seeder; without it clients use peers and the web seed. @default true */
  seeder?: boolean;
  /** Every event, from the first `listening` on (the returned server emits them too). */
  onEvent?: (e: ServerEvent) => void;
  /** Build progress (hashing, phase-1 steps). */
  onBuild?: (e: BuildEvent) => void;
  /** Aborts the build or the start; the services already bound are closed. */
  signal?: AbortSignal;
  logger?: Logger;
}

/** A running boot server. Emits every {@link ServerEvent} as `event` and under its own type. */
export interface BootServer extends EventEmitter<ServerEventMap> {
  /** What was built and is being served. */
  readonly out: BuiltOut;
  /** The URLs clients use (boot script, web seed, trackers). */
  readonly urls: ReturnType<typeof serverUrls>;
  /** Every machine seen, keyed by MAC. */
  readonly clients: ClientTable;
  /** Bound ports by service (HTTP's is the real one when the config says 0). */
  readonly ports: Partial<Record<ServiceName, number>>;
  /** The agents' console lines, a bounded ring per machine (`/api/v1/clients/:mac/log`). */
  readonly logs: ClientLogs;
  /** Bytes the server's seeder and web seed sent. */
  uploaded(): { seeder: number; webSeed: number };
  /**
   * The seeder's upload cap in force, bytes per second (`torrent.upload_limit_mbit`, lowered while
   * it yields to phase-1), or undefined: none.
   */
  uploadLimit(): number | undefined;
  /** Phase-1 from the server and from peers: bytes sent, runtime holders, where each copy came from. */
  phase1(): RuntimeReport;
  /**
   * Re-reads nothing itself: builds out/ for `project` (a freshly loaded copy of the running one)
   * and serves what changed without a restart: new and changed OS folders are hashed, seeded and
   * whitelisted, the payload (manifest + torrents) is rewritten for later clients, and downloads of
   * unchanged OSes go on. Addresses, ports, DHCP, phase-1 and `machines:` keep their running values
   * (listed in `restart`). A failed build rejects and leaves the services as they were.
   */
  reload(project: Project): Promise<ReloadResult>;
  /** Stops every service and waits for their sockets. Idempotent; no event fires after it. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** The kernel command line phase-1 boots with: both consoles, the server address, then extras. */
export function phase1Cmdline(project: Project, extra = '', out?: Pick<BuiltOut, 'phase1'>): string {
  const runtime = out?.phase1.runtime;
  const parts = [
    'console=tty0',
    'console=ttyS0,115200n8',
    'quiet',
    `bt.server=${project.config.general.host_ip}`,
    // Where /init fetches the runtime (Node + agent) from: this server, or a peer it redirects to.
    ...(runtime ? [`bt.runtime=${serverUrls(project).http}/runtime/${basename(runtime.path)}`] : []),
  ];
  return [...parts, extra.trim()].filter(Boolean).join(' ');
}

/**
 * Builds out/ (unless given) and starts DHCP, TFTP, HTTP, tracker and seeder for `project`, each
 * bound to the configured interface and address, under one disposable stack: when the fourth
 * service fails to bind, the first three close before the error reaches the caller.
 */
export async function startBootServer(o: BootServerOptions): Promise<BootServer> {
  const { project } = o;
  const c = project.config;
  const host = c.general.host_ip;
  const aborted = () =>
    new ServerError(ServerErrorCode.Aborted, 'boot server start aborted', { cause: o.signal?.reason });
  if (o.signal?.aborted) throw aborted();
  if (/[\n\r]/.test(o.extraCmdline ?? ''))
    throw new ServerError(ServerErrorCode.BadOption, 'extraCmdline holds a line break', {
      hint: 'give the kernel command line on one line',
    });
  checkInterface(c.dhcp.enable ? c.dhcp.interface : null, host);

  const out =
    o.out ??
    (await buildOut({
      project,
      outDir: o.outDir,
      phase1Dir: o.phase1Dir,
      hostRoots: o.hostRoots,
      signal: o.signal,
      onProgress: o.onBuild,
    }).catch((e: unknown) => {
      throw o.signal?.aborted ? aborted() : e;
    }));
  if (o.signal?.aborted) throw aborted();

  const clients = new ClientTable();
  // The dashboard, /metrics and the client logs read the counters the monitor keeps.
  const monitor = new Monitor(clients, out);
  const emitter = new EventEmitter<ServerEventMap>();
  let closed = false;
  const emit = (e: ServerEvent) => {
    if (closed) return;
    monitor.onEvent(e);
    o.onEvent?.(e);
    o.logger?.debug?.(e.type, e);
    emitter.emit('event', e);
    (emitter.emit as (t: string, e: ServerEvent) => boolean)(e.type, e);
  };
  clients.on('change', (info, why) =>
    emit({
      type: 'client',
      mac: info.mac,
      why,
      phase: info.phase,
      ip: info.ip,
      os: info.os,
      progress: info.progress,
      bytesFromServer: info.bytesFromServer,
      bytesFromPeers: info.bytesFromPeers,
      bytesFromWebSeed: info.bytesFromWebSeed,
    }),
  );
  const streams = new EventStreams(monitor);
  // Set once every service is up; POST /api/v1/reload before that is told to wait.
  const reloader: { now?: (next: Project) => Promise<ReloadResult> } = {};
  const ctx: WireContext = {
    project,
    out,
    clients,
    cmdline: phase1Cmdline(project, o.extraCmdline, out),
    emit,
    routes: opsRoutes(monitor, streams, `${project.config.dhcp.interface} ${host}`),
    statusGuard: (mac, remote) => monitor.guard.admit(mac, remote),
    reload: (next) =>
      reloader.now
        ? reloader.now(next)
        : Promise.reject(
            new ServerError(ServerErrorCode.Aborted, 'the server is still starting: nothing to reload yet', {
              hint: 'try again once every service listens',
            }),
          ),
  };
  const ports: Partial<Record<ServiceName, number>> = {};

  await using stack = new AsyncDisposableStack();
  const bind = async <T extends AsyncDisposable>(
    service: ServiceName,
    port: number,
    proto: 'tcp' | 'udp',
    start: (ctx: WireContext) => Promise<T>,
  ): Promise<T> => {
    if (o.signal?.aborted) throw aborted();
    let handle: T;
    try {
      handle = stack.use(await start(ctx));
    } catch (e) {
      throw await bindError(e, service, host, port, proto);
    }
    monitor.attach(service, handle as never);
    const bound = (handle as { port?: number }).port ?? port;
    ports[service] = bound;
    emit({ type: 'listening', service, address: host, port: bound });
    return handle;
  };

  if (c.tftp.enable) await bind('tftp', c.tftp.port, 'udp', wireTftp);
  if (c.dhcp.enable) await bind('dhcp', 67, 'udp', wireDhcp);
  const http = await bind('http', c.http.port, 'tcp', wireHttp);
  stack.defer(() => streams.close());
  const tracker = c.tracker.enable ? await bind('tracker', c.tracker.port, 'tcp', wireTracker) : undefined;
  const seeder = o.seeder === false ? undefined : await bind('seeder', c.torrent.port, 'tcp', wireSeeder);

  // The seeder's cap: the configured one (torrent.upload_limit_mbit, live on reload), lowered while
  // it yields to phase-1.
  let configuredCap = uploadLimitBps(c.torrent.upload_limit_mbit);
  let yieldCap: number | undefined;
  const applyCap = () => {
    const caps = [configuredCap, yieldCap].filter((v): v is number => v !== undefined);
    seeder?.setUploadLimit(caps.length ? Math.min(...caps) : undefined);
  };
  if (seeder && c.phase1.loader_slots > 0 && c.phase1.seeder_share < 1) {
    const give = new SeederYield({
      share: c.phase1.seeder_share,
      phase1Busy: () => http.phase1Live().busy,
      sent: () => ({
        phase1: http.phase1Live().bytes,
        seeder: seeder.stats().reduce((a, t) => a + t.uploaded, 0),
      }),
      setLimit: (bps) => {
        yieldCap = bps;
        applyCap();
      },
    });
    const timer = setInterval(() => {
      const change = give.tick();
      if (change?.kind === 'capped')
        emit({ type: 'seeder-yield', action: 'capped', bytesPerSecond: change.bytesPerSecond });
      else if (change) emit({ type: 'seeder-yield', action: 'lifted' });
    }, SEEDER_YIELD_TICK_MS);
    timer.unref();
    stack.defer(() => clearInterval(timer));
  }
  const services = stack.move();
  // One reload at a time; `running` is the project the services were last brought to.
  let running = project;
  let reloading: Promise<unknown> = Promise.resolve();
  const reload = (next: Project): Promise<ReloadResult> => {
    const done = reloading.then(async () => {
      if (closed) throw new ServerError(ServerErrorCode.Aborted, 'server closed: nothing to reload');
      const { project: p, restart } = reloadableProject(running, next);
      const built = await buildOut({
        project: p,
        outDir: out.outDir,
        phase1Dir: o.phase1Dir,
        hostRoots: o.hostRoots,
        phase1: out.phase1, // phase-1 changes need a restart: the running one is kept
      });
      const changes = await applyReload(out, built, { seeder, tracker, webSeedFiles: http.webSeedFiles });
      Object.assign(out, built); // in place: the monitor, the wiring and `server.out` share it
      running = p;
      configuredCap = uploadLimitBps(p.config.torrent.upload_limit_mbit);
      applyCap();
      return { ...changes, restart };
    });
    reloading = done.catch(() => {});
    return done;
  };
  reloader.now = reload;
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      closed = true;
      o.signal?.removeEventListener('abort', onAbort);
      await services.disposeAsync();
      emitter.removeAllListeners();
    })());
  const onAbort = () => void close();
  o.signal?.addEventListener('abort', onAbort, { once: true });

  return Object.assign(emitter, {
    out,
    urls: serverUrls(project),
    clients,
    ports,
    logs: monitor.logs,
    phase1: () => http.runtime(),
    reload,
    uploadLimit: () => seeder?.uploadLimit,
    uploaded: () => ({
      seeder: seeder?.stats().reduce((a, t) => a + t.uploaded, 0) ?? 0,
      webSeed: http.webSeedBytes(),
    }),
    close,
    [Symbol.asyncDispose]: close,
  });
}

/** A service that did not start, as one line: which service, which port, and who holds it. */
async function bindError(
  e: unknown,
  service: ServiceName,
  host: string,
  port: number,
  proto: 'tcp' | 'udp',
): Promise<ServerError> {
  if (e instanceof ServerError) return e;
  if (hasCode(e, 'EADDRINUSE')) {
    const who = await whoUses(port, proto);
    return new ServerError(
      ServerErrorCode.Bind,
      `${service}: ${proto.toUpperCase()} port ${port} on ${host} is already in use${who ? ` by ${who}` : ''}`,
      { cause: e, hint: 'stop that program, or change the port in config.yaml' },
    );
  }
  if (hasCode(e, 'EACCES'))
    return new ServerError(
      ServerErrorCode.Bind,
      `${service}: no permission to bind port ${port} on ${host}`,
      {
        cause: e,
        hint: 'run as root, or grant CAP_NET_BIND_SERVICE (ports below 1024)',
      },
    );
  if (hasCode(e, 'EADDRNOTAVAIL'))
    return new ServerError(ServerErrorCode.Bind, `${service}: ${host} is not an address of this machine`, {
      cause: e,
      hint: 'set general.host_ip to an address of this machine',
    });
  const err = e as { message?: string; hint?: string; code?: string };
  const bindFailed = typeof err.code === 'string' && err.code.endsWith('_BIND');
  return new ServerError(
    bindFailed ? ServerErrorCode.Bind : ServerErrorCode.Start,
    `${service} failed to start: ${err.message ?? String(e)}`,
    { cause: e, hint: typeof err.hint === 'string' ? err.hint : '' },
  );
}

/** Whether `e` or any error in its cause chain carries the errno `code`. */
function hasCode(e: unknown, code: string): boolean {
  for (
    let x = e, depth = 0;
    x && typeof x === 'object' && depth < 8;
    x = (x as { cause?: unknown }).cause, depth++
  )
    if ((x as { code?: unknown }).code === code) return true;
  return false;
}
