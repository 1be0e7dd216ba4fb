import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import type { Project } from '@boottorrent/config';
import {
  ClientArchName,
  pxelinuxConfig,
  startDhcpServer,
  staticPlan,
  type DhcpServer,
} from '@boottorrent/pxe';
import { startSeeder, type Seeder } from '@boottorrent/seeder';
import { startTftpServer, type TftpServer } from '@boottorrent/tftp';
import { startTracker, type Tracker } from '@boottorrent/tracker';
import { serverUrls, type BuiltOut } from './build.js';
import type { ClientTable } from './clients.js';
import type { ServerEvent } from './events.js';
import { wireMachines } from './machines-api.js';
import { startHttpServer, type HttpRoute, type HttpServer, type HttpServerOptions } from './http.js';
import { loaderRoutes } from './loader-route.js';
import type { ReloadResult } from './reload.js';
import { wireReload } from './reload-api.js';
import { runtimeService, type RuntimeReport } from './runtime.js';
import { wireWake } from './wake-api.js';

/** What every wiring function gets: the project, what was built, the client table and the event sink. */
export interface WireContext {
  project: Project;
  out: BuiltOut;
  clients: ClientTable;
  /** Phase-1's kernel command line. */
  cmdline: string;
  emit(e: ServerEvent): void;
  /** More HTTP routes (dashboard, metrics, logs, machine control), tried before the built-in ones. */
  routes?: readonly HttpRoute[];
  /** The gate in front of the agents' status POSTs (see {@link HttpServerOptions.statusGuard}). */
  statusGuard?: HttpServerOptions['statusGuard'];
  /** The running server's reload, behind the token at `POST /api/v1/reload` (no route without it). */
  reload?: (project: Project) => Promise<ReloadResult>;
}

/** TFTP: the boot loaders from out/tftp, phase-1 by name, and pxelinux.cfg generated on the fly. */
export async function wireTftp({ project, out, clients, cmdline, emit }: WireContext): Promise<TftpServer> {
  const c = project.config;
  const phase1Files = new Map(
    [out.phase1.kernel, ...out.phase1.loaderInitrds].map((p) => [`phase1/${basename(p)}`, p]),
  );
  const cfg = Buffer.from(
    pxelinuxConfig({
      kernel: `phase1/${basename(out.phase1.kernel)}`,
      initrds: out.phase1.loaderInitrds.map((p) => `phase1/${basename(p)}`),
      cmdline,
      serial: true,
    }),
  );
  const tftp = await startTftpServer({
    root: out.tftpRoot,
    host: c.general.host_ip,
    port: c.tftp.port,
    files: async (path) => {
      if (path === 'pxelinux.cfg/default' || path.startsWith('pxelinux.cfg/01-'))
        return { size: cfg.length, stream: () => Readable.from([cfg]) };
      const file = phase1Files.get(path);
      if (!file) return null;
      const size = (await stat(file)).size;
      return { size, stream: () => createReadStream(file, { highWaterMark: 1 << 20 }) };
    },
  });
  tftp.on('transfer-start', (t) => {
    const mac = clients.macOf(t.client.address);
    if (mac) clients.observe(mac, { phase: 'loader' }, `tftp ${t.file}`);
    emit({ type: 'tftp', kind: 'start', client: t.client.address, file: t.file });
  });
  tftp.on('transfer-end', (t) =>
    emit({
      type: 'tftp',
      kind: 'end',
      client: t.client.address,
      file: t.file,
      bytes: t.bytes,
      ms: t.durationMs,
    }),
  );
  tftp.on('transfer-error', (t) =>
    emit({ type: 'tftp', kind: 'error', client: t.client.address, file: t.file, error: t.error?.message }),
  );
  tftp.on('refused', (r) =>
    emit({ type: 'refused', service: 'tftp', client: r.client.address, reason: r.reason, file: r.file }),
  );
  return tftp;
}

/** DHCP (server or proxy mode) on the configured interface; leases and boot answers feed the table. */
export async function wireDhcp({ project, out, clients, emit }: WireContext): Promise<DhcpServer> {
  const c = project.config;
  const dhcp = await startDhcpServer({
    interface: c.dhcp.interface,
    serverAddress: c.general.host_ip,
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
          // Machines behind DHCP relays: the pool by the relay's address (giaddr).
          subnets: c.dhcp.subnets.map((s) => ({
            range: s.range,
            subnetMask: s.netmask,
            router: s.router,
            dns: s.dns,
            leaseTime: s.lease_time,
          })),
        }
      : {}),
    // Only loaders the build copied are offered; ARM64 firmware is refused (phase-1 is x86_64).
    planFor: staticPlan({
      scriptUrl: serverUrls(project).script,
      legacyPxelinux: c.dhcp.legacy_pxelinux,
      available: out.loaders,
    }),
  });
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
    clients.observe(b.mac, { phase: 'dhcp', firmware: b.isIpxe ? undefined : firmware }, `dhcp ${b.message}`);
    emit({ type: 'boot', mac: b.mac, firmware, loader: b.loader, message: b.message });
  });
  dhcp.on('ignored', (i) =>
    emit({
      type: 'refused',
      service: 'dhcp',
      client: i.mac,
      reason: i.detail ? `${i.reason}: ${i.detail}` : i.reason,
    }),
  );
  dhcp.on('dropped', (d) => emit({ type: 'refused', service: 'dhcp', client: d.from, reason: d.reason }));
  return dhcp;
}

/** HTTP: boot scripts, phase-1 (kernel, initrds, payload), the web seed and the status API. */
export async function wireHttp(ctx: WireContext): Promise<
  HttpServer & {
    runtime(): RuntimeReport;
    /** Phase-1 through the loader gate, live: busy or not, bytes sent (RuntimeService.live). */
    phase1Live(): { busy: boolean; bytes: number };
    webSeedFiles: Map<string, string>;
  }
> {
  const { project, out, clients, cmdline, emit } = ctx;
  const c = project.config;
  const loaderFiles = [out.phase1.kernel, ...out.phase1.loaderInitrds, out.payload];
  const runtime = runtimeService({
    runtime: out.phase1.runtime,
    clients,
    emit,
    serverSlots: c.phase1.runtime_server_slots,
    peerSlots: c.phase1.runtime_peer_slots,
    loaderFiles: new Map(loaderFiles.map((p) => [basename(p), p])),
    loaderSlots: c.phase1.loader_slots,
  });
  // `out` is updated in place by a reload: an OS it adds can be picked at once.
  const machines = await wireMachines({
    project,
    clients,
    emit,
    osNames: () => out.torrents.map((t) => t.os.name),
  });
  const wake = await wireWake({ project, emit }); // after wireMachines, which writes a missing token
  const reload = ctx.reload ? await wireReload({ project, reload: ctx.reload, emit }) : [];
  const webSeedFiles = new Map<string, string>();
  for (const t of out.torrents)
    for (const f of t.files) webSeedFiles.set(`${t.os.name}/${f.path}`, join(t.os.dir, f.path));
  const http = await startHttpServer({
    host: c.general.host_ip,
    port: c.http.port,
    baseUrl: serverUrls(project).http,
    phase1: { kernel: out.phase1.kernel, initrds: [...out.phase1.loaderInitrds, out.payload] },
    cmdline,
    webSeedFiles,
    clients,
    cmdlineFor: machines.cmdlineFor,
    routes: [
      ...runtime.routes,
      ...machines.routes,
      ...loaderRoutes({ tftpRoot: out.tftpRoot, loaders: out.loaders, clients }),
      ...wake,
      ...reload,
      ...(ctx.routes ?? []),
    ],
    statusGuard: ctx.statusGuard,
    onRequest: (r) => {
      runtime.onRequest(r);
      emit({ type: 'http', ...r });
    },
  });
  // webSeedFiles: read on every request, so BootServer.reload can swap the torrents' files.
  return Object.assign(http, { runtime: runtime.report, phase1Live: runtime.live, webSeedFiles });
}

/** The tracker (HTTP + UDP), announcing only the project's torrents. */
export async function wireTracker({ project, out, emit }: WireContext): Promise<Tracker> {
  const c = project.config;
  const tracker = await startTracker({
    host: c.general.host_ip,
    port: c.tracker.port,
    interval: c.tracker.interval,
    whitelist: out.torrents.map((t) => t.infoHash),
  });
  tracker.on('warning', (e: Error) => emit({ type: 'warning', service: 'tracker', message: e.message }));
  return tracker;
}

/** The seeder: every OS folder seeded in place (hashes were checked by the build). */
export async function wireSeeder({ project, out, emit }: WireContext): Promise<Seeder> {
  const c = project.config;
  const seeder = await startSeeder({
    torrents: out.torrents.map((t) => ({ torrent: t.torrent, dir: t.os.dir })),
    host: c.general.host_ip,
    port: c.torrent.port,
    lsd: c.torrent.lsd,
    pex: c.torrent.pex,
    uploadLimit: uploadLimitBps(c.torrent.upload_limit_mbit),
    skipVerify: true,
  });
  seeder.on('error', (e: Error) => emit({ type: 'warning', service: 'seeder', message: e.message }));
  return seeder;
}

/** `torrent.upload_limit_mbit` in bytes per second, undefined for 0 (no cap). */
export function uploadLimitBps(mbit: number): number | undefined {
  return mbit > 0 ? Math.max(1, Math.round((mbit * 1e6) / 8)) : undefined;
}
