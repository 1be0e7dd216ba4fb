import { Readable } from 'node:stream';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Project } from '@boottorrent/config';
import { ClientArchName, pxelinuxConfig, startDhcpServer, staticPlan } from '@boottorrent/pxe';
import { startSeeder } from '@boottorrent/seeder';
import { startTftpServer } from '@boottorrent/tftp';
import { startTracker } from '@boottorrent/tracker';
import { CliError } from '../command.js';
import type { BuiltOut } from './build.js';
import { serverUrls } from './build.js';
import { ClientTable } from './clients.js';
import { startHttpServer } from './http.js';
import { checkInterface, whoUses } from './preflight.js';

/** One line of what the server saw; the view prints these (or JSON lines with --json). */
export type ServerEvent =
  | { type: 'listening'; service: string; address: string; port: number }
  | { type: 'lease'; kind: string; mac: string; ip: string }
  | { type: 'boot'; mac: string; firmware: string; loader: string; message: string }
  | {
      type: 'tftp';
      kind: 'start' | 'end' | 'error' | 'refused';
      client: string;
      file?: string;
      bytes?: number;
      ms?: number;
      error?: string;
    }
  | { type: 'http'; method: string; path: string; status: number; bytes: number; remote: string }
  | {
      type: 'client';
      mac: string;
      why: string;
      phase: string;
      ip?: string;
      os?: string;
      progress?: number;
      bytesFromServer: number;
      bytesFromPeers: number;
      bytesFromWebSeed: number;
    }
  | { type: 'warning'; service: string; message: string };

export interface StartOptions {
  project: Project;
  out: BuiltOut;
  /** Appended to phase-1's kernel command line (e.g. `bt.os=<name>` to skip the menu). */
  extraCmdline?: string;
  /** Run the BitTorrent seeder. @default true */
  seeder?: boolean;
  onEvent?: (e: ServerEvent) => void;
}

export interface RunningServer {
  clients: ClientTable;
  /** Bytes the server's seeder and web seed sent. */
  uploaded(): { seeder: number; webSeed: number };
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts every service bound to the configured interface and address, under one disposable stack:
 * if the fourth fails to bind, the first three close.
 */
export async function startServer(o: StartOptions): Promise<RunningServer> {
  const { project, out } = o;
  const c = project.config;
  const host = c.general.host_ip;
  const emit = (e: ServerEvent) => o.onEvent?.(e);
  checkInterface(c.dhcp.enable ? c.dhcp.interface : null, host);

  const clients = new ClientTable();
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
  const urls = serverUrls(project);
  const cmdline = [
    'console=tty0',
    'console=ttyS0,115200n8',
    'quiet',
    `bt.server=${host}`,
    o.extraCmdline ?? '',
  ]
    .filter(Boolean)
    .join(' ');
  const bind = async <T>(
    service: string,
    port: number,
    proto: 'tcp' | 'udp',
    start: () => Promise<T>,
  ): Promise<T> => {
    try {
      const r = await start();
      emit({ type: 'listening', service, address: host, port });
      return r;
    } catch (e) {
      const err = e as NodeJS.ErrnoException & { code?: string; cause?: NodeJS.ErrnoException };
      const code = err.code === 'EADDRINUSE' || err.cause?.code === 'EADDRINUSE' ? 'EADDRINUSE' : err.code;
      if (code === 'EADDRINUSE' || /EADDRINUSE|in use/i.test(err.message)) {
        const who = await whoUses(port, proto);
        throw new CliError(
          `${service}: ${proto.toUpperCase()} port ${port} on ${host} is already in use${who ? ` by ${who}` : ''}`,
          `stop that program, or change the port in config.yaml`,
        );
      }
      if (e instanceof CliError) throw e;
      throw new CliError(
        `${service} failed to start: ${err.message}`,
        err.cause ? String(err.cause.message ?? '') : '',
      );
    }
  };

  await using stack = new AsyncDisposableStack();

  if (c.tftp.enable) {
    const phase1Files = new Map(
      [out.phase1.kernel, ...out.phase1.initrds].map((p) => [`phase1/${basename(p)}`, p]),
    );
    const pxelinuxCfg = pxelinuxConfig({
      kernel: `phase1/${basename(out.phase1.kernel)}`,
      initrds: out.phase1.initrds.map((p) => `phase1/${basename(p)}`),
      cmdline,
      serial: true,
    });
    const tftp = await bind('tftp', c.tftp.port, 'udp', () =>
      startTftpServer({
        root: out.tftpRoot,
        host,
        port: c.tftp.port,
        files: async (path) => {
          if (path === 'pxelinux.cfg/default' || /^pxelinux\.cfg\/01-/.test(path)) {
            const data = Buffer.from(pxelinuxCfg);
            return { size: data.length, stream: () => Readable.from([data]) };
          }
          const file = phase1Files.get(path);
          if (!file) return null;
          const size = (await stat(file)).size;
          return { size, stream: () => createReadStream(file, { highWaterMark: 1 << 20 }) };
        },
      }),
    );
    stack.use(tftp);
    tftp.on('transfer-start', (t: { client: { address: string }; file: string }) => {
      const mac = clients.macOf(t.client.address);
      if (mac) clients.observe(mac, { phase: 'loader' }, `tftp ${t.file}`);
      emit({ type: 'tftp', kind: 'start', client: t.client.address, file: t.file });
    });
    tftp.on(
      'transfer-end',
      (t: { client: { address: string }; file: string; bytes: number; durationMs: number }) =>
        emit({
          type: 'tftp',
          kind: 'end',
          client: t.client.address,
          file: t.file,
          bytes: t.bytes,
          ms: t.durationMs,
        }),
    );
    tftp.on('transfer-error', (t: { client: { address: string }; file?: string; error?: Error }) =>
      emit({ type: 'tftp', kind: 'error', client: t.client.address, file: t.file, error: t.error?.message }),
    );
  }

  if (c.dhcp.enable) {
    const dhcp = await bind('dhcp', 67, 'udp', () =>
      startDhcpServer({
        interface: c.dhcp.interface,
        serverAddress: host,
        mode: c.dhcp.mode,
        // Proxy mode hands out no addresses: the pool, reservations and lease file are server mode's.
        ...(c.dhcp.mode === 'server'
          ? {
              range: c.dhcp.range,
              subnetMask: c.dhcp.netmask,
              router: c.dhcp.router,
              dns: c.dhcp.dns,
              leaseTime: c.dhcp.lease_time,
              reservations: c.dhcp.reservations,
              leaseFile: join(out.outDir, 'leases.json'),
            }
          : {}),
        planFor: staticPlan({ scriptUrl: urls.script, legacyPxelinux: c.dhcp.legacy_pxelinux }),
      }),
    );
    stack.use(dhcp);
    dhcp.on('lease', (l) => {
      if (l.type === 'acked') clients.observe(l.mac, { phase: 'dhcp', ip: l.ip }, 'dhcp ack');
      emit({ type: 'lease', kind: l.type, mac: l.mac, ip: l.ip });
    });
    dhcp.on('boot', (b) => {
      const firmware = b.isIpxe
        ? 'ipxe'
        : b.arch === null
          ? 'bios'
          : (ClientArchName[b.arch] ?? `arch ${b.arch}`);
      clients.observe(
        b.mac,
        { phase: 'dhcp', firmware: b.isIpxe ? undefined : firmware },
        `dhcp ${b.message}`,
      );
      emit({ type: 'boot', mac: b.mac, firmware, loader: b.loader, message: b.message });
    });
  }

  const webSeedFiles = new Map<string, string>();
  for (const t of out.torrents)
    for (const f of t.files) webSeedFiles.set(`${t.os.name}/${f.path}`, join(t.os.dir, f.path));
  const http = await bind('http', c.http.port, 'tcp', () =>
    startHttpServer({
      host,
      port: c.http.port,
      baseUrl: urls.http,
      phase1: { kernel: out.phase1.kernel, initrds: [...out.phase1.initrds, out.payload] },
      cmdline,
      webSeedFiles,
      clients,
      onRequest: (r) => emit({ type: 'http', ...r }),
    }),
  );
  stack.use(http);

  if (c.tracker.enable) {
    const tracker = await bind('tracker', c.tracker.port, 'tcp', () =>
      startTracker({
        host,
        port: c.tracker.port,
        interval: c.tracker.interval,
        whitelist: out.torrents.map((t) => t.infoHash),
      }),
    );
    stack.use(tracker);
    tracker.on('warning', (e: Error) => emit({ type: 'warning', service: 'tracker', message: e.message }));
  }

  const seeder =
    o.seeder === false
      ? undefined
      : await bind('seeder', c.torrent.port, 'tcp', () =>
          startSeeder({
            torrents: out.torrents.map((t) => ({ torrent: t.torrent, dir: t.os.dir })),
            host,
            port: c.torrent.port,
            lsd: c.torrent.lsd,
            pex: c.torrent.pex,
            skipVerify: true,
          }),
        );
  if (seeder) {
    stack.use(seeder);
    seeder.on('error', (e: Error) => emit({ type: 'warning', service: 'seeder', message: e.message }));
  }

  const moved = stack.move();
  let closing: Promise<void> | undefined;
  const close = () => (closing ??= moved.disposeAsync());
  return {
    clients,
    uploaded: () => ({
      seeder: seeder?.stats().reduce((a, t) => a + t.uploaded, 0) ?? 0,
      webSeed: http.webSeedBytes(),
    }),
    close,
    [Symbol.asyncDispose]: close,
  };
}
