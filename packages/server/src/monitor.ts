import type { DhcpServer, Lease } from '@boottorrent/pxe';
import type { Seeder } from '@boottorrent/seeder';
import type { TftpServer } from '@boottorrent/tftp';
import type { Tracker } from '@boottorrent/tracker';
import type { BuiltOut } from './build.js';
import { ClientLogs } from './client-logs.js';
import type { ClientInfo, ClientTable } from './clients.js';
import type { ServerEvent } from './events.js';
import type { HttpServer } from './http.js';
import { StatusGuard } from './status-guard.js';

/** The service handles the monitor reads counters from; each arrives once it is bound. */
export interface MonitoredServices {
  dhcp?: DhcpServer;
  tftp?: TftpServer;
  http?: HttpServer;
  tracker?: Tracker;
  seeder?: Seeder;
}

/** One OS as the dashboard shows it. */
export interface OsRow {
  name: string;
  dispname: string;
  size: number;
  pieces: number;
  pieceLength: number;
  /** Seeders the tracker knows (the server's seeder included once it announced). */
  seeders: number;
  leechers: number;
  completed: number;
  /** Bytes the server's seeder sent of this OS. */
  uploaded: number;
}

/** A client row: what the table knows, plus its download rate (bytes/s, all sources). */
export type ClientRow = ClientInfo & { rate: number };

/** The HTTP routes, as metric labels (a bounded set: never the raw path). */
export function routeLabel(path: string): string {
  const p = path.split('?')[0]!;
  if (p === '/') return 'dashboard';
  if (p === '/boot.ipxe') return 'boot_ipxe';
  if (p === '/metrics') return 'metrics';
  if (p.startsWith('/phase1/')) return 'phase1';
  if (p.startsWith('/runtime/')) return 'runtime';
  if (/^\/[^/]+\.(efi|kpxe|pxe|0)$/.test(p)) return 'boot_loader';
  if (p.startsWith('/webseed/')) return 'webseed';
  if (p === '/api/v1/events') return 'api_events';
  if (/^\/api\/v1\/clients\/[^/]+\/status$/.test(p)) return 'api_status';
  if (/^\/api\/v1\/clients\/[^/]+\/log$/.test(p)) return 'api_log';
  if (p.startsWith('/api/v1/clients')) return 'api_clients';
  const api = /^\/api\/v1\/(machines|runtime|wake)(\/|$)/.exec(p);
  if (api) return `api_${api[1]}`;
  if (p.startsWith('/api/')) return 'api_other';
  return 'other';
}

/**
 * Everything the dashboard, /metrics and the client logs read: counters kept from the server's
 * event stream and the services' own stats(), per-client download rates, the agents' console lines,
 * and the gate in front of the agents' open POST routes. One per boot server.
 */
export class Monitor {
  readonly logs: ClientLogs;
  readonly guard: StatusGuard;
  readonly services: MonitoredServices = {};
  readonly started: number;
  readonly counters = {
    lease: new Map<string, number>(),
    dhcpIgnored: new Map<string, number>(),
    tftp: { completed: 0, failed: 0 },
    http: new Map<string, number>(),
    trackerAnnounces: 0,
    /** Phase-1 bytes sent: the loader part (kernel, initrds, payload) by protocol, and the runtime. */
    phase1Bytes: { http: 0, tftp: 0, runtime: 0 },
  };
  readonly #rates = new Map<string, { at: number; bytes: number; rate: number }>();
  #leaseIndex: Map<string, string> | null = null;
  #leaseIndexAt = 0;

  constructor(
    readonly clients: ClientTable,
    readonly out: BuiltOut,
    private readonly now: () => number = Date.now,
  ) {
    this.started = now();
    this.logs = new ClientLogs(now);
    this.guard = new StatusGuard({ leaseOwner: (ip) => this.leaseOwner(ip), now });
    clients.on('change', (c) => this.#sample(c));
  }

  /** Counts one server event. */
  onEvent(e: ServerEvent): void {
    const c = this.counters;
    switch (e.type) {
      case 'lease':
        bump(c.lease, e.kind);
        this.#leaseIndex = null;
        break;
      case 'tftp':
        if (e.kind === 'end') {
          c.tftp.completed++;
          if (e.file?.startsWith('phase1/')) c.phase1Bytes.tftp += e.bytes ?? 0;
        } else if (e.kind === 'error') c.tftp.failed++;
        break;
      case 'http':
        bump(c.http, `${routeLabel(e.path)}\0${e.method}\0${e.status}`);
        if (e.path.startsWith('/phase1/')) c.phase1Bytes.http += e.bytes;
        // The runtime only when this server sent it: a 302 hands the client to a peer.
        if (e.path.startsWith('/runtime/') && (e.status === 200 || e.status === 206))
          c.phase1Bytes.runtime += e.bytes;
        break;
    }
  }

  /** A service is bound: its counters become readable. */
  attach<K extends keyof MonitoredServices>(name: K, handle: MonitoredServices[K]): void {
    this.services[name] = handle;
    if (name === 'dhcp') {
      const dhcp = handle as DhcpServer;
      dhcp.on('ignored', (i) => bump(this.counters.dhcpIgnored, i.reason));
      dhcp.on('lease', () => (this.#leaseIndex = null));
    }
    if (name === 'tracker') (handle as Tracker).on('update', () => this.counters.trackerAnnounces++);
  }

  /**
   * The MAC whose DHCP lease holds `ip`; null when no lease table exists (DHCP off, or proxy mode,
   * where the site's DHCP server hands out the addresses).
   */
  leaseOwner(ip: string): string | null | undefined {
    const dhcp = this.services.dhcp;
    if (!dhcp || dhcp.mode !== 'server') return null;
    const now = this.now();
    // Rebuilt after each lease event, and every few seconds so an expired lease drops out.
    if (!this.#leaseIndex || now - this.#leaseIndexAt > LEASE_INDEX_MS) {
      this.#leaseIndexAt = now;
      this.#leaseIndex = new Map(
        dhcp
          .leases()
          .filter((l: Lease) => l.state === 'bound' && l.expiresAt > now)
          .map((l) => [l.ip, l.mac]),
      );
    }
    return this.#leaseIndex.get(ip);
  }

  /** Download rate of `mac` in bytes/s (all sources), smoothed over the last reports. */
  rate(mac: string): number {
    return this.#rates.get(mac)?.rate ?? 0;
  }

  rows(): ClientRow[] {
    return this.clients.list().map((c) => ({ ...c, rate: this.rate(c.mac) }));
  }

  /** One row per OS: size, pieces, what the tracker and the seeder know of its swarm. */
  oss(): OsRow[] {
    const swarms = new Map((this.services.tracker?.stats() ?? []).map((s) => [s.infoHash, s]));
    const up = new Map((this.services.seeder?.stats() ?? []).map((s) => [s.infoHash, s.uploaded]));
    return this.out.torrents.map((t) => {
      const s = swarms.get(t.infoHash);
      return {
        name: t.os.name,
        dispname: t.os.dispname,
        size: t.size,
        pieces: t.pieceCount,
        pieceLength: t.pieceLength,
        seeders: s?.seeders ?? 0,
        leechers: s?.leechers ?? 0,
        completed: s?.completed ?? 0,
        uploaded: up.get(t.infoHash) ?? 0,
      };
    });
  }

  /** Bytes the server sent: its seeder and its web seed. */
  uploaded(): { seeder: number; webSeed: number } {
    return {
      seeder: this.services.seeder?.stats().reduce((a, t) => a + t.uploaded, 0) ?? 0,
      webSeed: this.services.http?.webSeedBytes() ?? 0,
    };
  }

  #sample(c: ClientInfo): void {
    const bytes = c.bytesFromServer + c.bytesFromPeers + c.bytesFromWebSeed;
    const now = this.now();
    const prev = this.#rates.get(c.mac);
    if (!prev || bytes < prev.bytes) {
      this.#rates.set(c.mac, { at: now, bytes, rate: 0 });
      return;
    }
    const dt = now - prev.at;
    if (dt < 500) return;
    const instant = ((bytes - prev.bytes) * 1000) / dt;
    // Smoothed, so one late report does not swing the number; a finished download drops to 0.
    const rate = c.phase === 'downloading' ? prev.rate * 0.5 + instant * 0.5 : 0;
    this.#rates.set(c.mac, { at: now, bytes, rate });
  }
}

/** How long the ip → MAC index of bound leases is trusted without a lease event. */
const LEASE_INDEX_MS = 5000;

function bump(m: Map<string, number>, key: string): void {
  m.set(key, (m.get(key) ?? 0) + 1);
}
