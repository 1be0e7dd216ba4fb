import { EventEmitter } from 'node:events';
import { CLIENT_PHASES, type ClientPhase, type ClientStatus } from '@boottorrent/config';
import type { MachinePlan } from './machines.js';

/** What the server knows of one booting machine, keyed by MAC. */
export interface ClientInfo {
  mac: string;
  ip?: string;
  /** Firmware family from DHCP option 93 / user class: bios, efi64, ipxe, … */
  firmware?: string;
  phase: ClientPhase;
  os?: string;
  progress?: number;
  bytesFromServer: number;
  bytesFromPeers: number;
  bytesFromWebSeed: number;
  bytesUploaded: number;
  /** Where phase-1's runtime came from: 'server', or the peer as "<ip> (<mac>)". */
  runtimeSource?: string;
  message?: string;
  /** What this machine is set to boot (config.yaml's `machines:`, the API's override), if anything. */
  machine?: MachinePlan;
  /** First time each phase was seen (ms since the epoch). */
  timeline: Partial<Record<ClientPhase, number>>;
  updated: number;
}

/**
 * A machine the server has heard nothing from (DHCP, boot files, status reports) for this long counts
 * as gone: it no longer keeps other machines seeding for it. Long, because a machine in phase-1 says
 * nothing between its boot script and its agent's first report (minutes behind a busy link); too
 * long only costs seeding up to seed_time, as before. @default 300000
 */
export const DEFAULT_CLIENT_GONE_MS = 300_000;
/**
 * The same for a machine downloading its OS: its agent reports every second, bytes or none (apps/agent's
 * test "keeps telling the server it is downloading while no byte arrives"), so this much silence means
 * it was powered off or lost its link. Without it a machine switched off mid-download
 * kept the others seeding up to seed_time_max. @default 30000
 */
export const DEFAULT_DOWNLOAD_GONE_MS = 30_000;

/** Phases in which a machine may still need an OS it has not finished downloading. */
const NEEDS_OS: ReadonlySet<ClientPhase> = new Set(['dhcp', 'loader', 'phase1', 'menu', 'downloading']);

/** Phases in boot order; `error` stands outside it. */
const ORDER: readonly ClientPhase[] = CLIENT_PHASES.filter((p) => p !== 'error');

/**
 * The client table behind the live view and GET /api/v1/clients. Facts arrive from DHCP, TFTP, HTTP
 * and the agents' status reports; a phase never moves backwards except into `error` and out of it.
 */
export class ClientTable extends EventEmitter<{ change: [ClientInfo, string] }> {
  readonly #clients = new Map<string, ClientInfo>();
  readonly #ipToMac = new Map<string, string>();

  constructor(private readonly now: () => number = Date.now) {
    super();
  }

  list(): ClientInfo[] {
    return [...this.#clients.values()].sort((a, b) => a.mac.localeCompare(b.mac));
  }

  get(mac: string): ClientInfo | undefined {
    return this.#clients.get(mac);
  }

  macOf(ip: string): string | undefined {
    return this.#ipToMac.get(ip);
  }

  /** A fact from the server's own services (DHCP lease, TFTP or HTTP fetch). */
  observe(
    mac: string,
    fact: { phase?: ClientPhase; ip?: string; firmware?: string; runtimeSource?: string },
    why: string,
  ): void {
    const c = this.#get(mac);
    if (fact.ip) {
      c.ip = fact.ip;
      this.#ipToMac.set(fact.ip, mac);
    }
    if (fact.firmware) c.firmware = fact.firmware;
    if (fact.runtimeSource) c.runtimeSource = fact.runtimeSource;
    if (fact.phase) this.#advance(c, fact.phase);
    c.updated = this.now();
    this.emit('change', c, why);
  }

  /** An agent's status report (POST /api/v1/clients/<mac>/status). */
  report(mac: string, s: ClientStatus): void {
    const c = this.#get(mac);
    if (s.ip) {
      c.ip = s.ip;
      this.#ipToMac.set(s.ip, mac);
    }
    if (s.os !== undefined) c.os = s.os;
    if (s.progress !== undefined) c.progress = s.progress;
    if (s.bytesFromServer !== undefined) c.bytesFromServer = s.bytesFromServer;
    if (s.bytesFromPeers !== undefined) c.bytesFromPeers = s.bytesFromPeers;
    if (s.bytesFromWebSeed !== undefined) c.bytesFromWebSeed = s.bytesFromWebSeed;
    if (s.bytesUploaded !== undefined) c.bytesUploaded = s.bytesUploaded;
    c.message = s.message;
    this.#advance(c, s.phase);
    c.updated = this.now();
    this.emit('change', c, 'status');
  }

  /**
   * Machines that still need `os`, besides `except` (the asker): heard from within `goneMs`, and
   * downloading `os`, or not yet past choosing an OS (DHCP, boot loader, phase-1, menu) unless their
   * plan boots another OS without a menu; a downloading machine counts only while it reports
   * (`downloadGoneMs`). A seeding agent stops early when this is 0.
   */
  waitingFor(
    os: string,
    except?: string,
    goneMs = DEFAULT_CLIENT_GONE_MS,
    downloadGoneMs = DEFAULT_DOWNLOAD_GONE_MS,
  ): number {
    const now = this.now();
    let n = 0;
    for (const c of this.#clients.values()) {
      if (c.mac === except || now - c.updated >= goneMs || !NEEDS_OS.has(c.phase)) continue;
      if (c.phase === 'downloading') {
        if ((c.os === undefined || c.os === os) && now - c.updated < downloadGoneMs) n++;
        continue;
      }
      const p = c.machine;
      if (p && !p.menu && p.os !== null && p.os !== os) continue;
      n++;
    }
    return n;
  }

  /** Where rows get their `machine` field: the server's machine plans. */
  usePlans(planFor: (mac: string) => MachinePlan | null): void {
    this.#planFor = planFor;
    for (const c of this.#clients.values()) this.#plan(c);
  }

  /** Re-reads one machine's plan after the API changed it, and tells the listeners. */
  replan(mac: string): void {
    const c = this.#clients.get(mac);
    if (!c) return;
    this.#plan(c);
    c.updated = this.now();
    this.emit('change', c, 'machine');
  }

  #planFor?: (mac: string) => MachinePlan | null;
  #plan(c: ClientInfo): void {
    const p = this.#planFor?.(c.mac);
    if (p) c.machine = p;
    else delete c.machine;
  }

  #get(mac: string): ClientInfo {
    let c = this.#clients.get(mac);
    if (!c) {
      c = {
        mac,
        phase: 'dhcp',
        bytesFromServer: 0,
        bytesFromPeers: 0,
        bytesFromWebSeed: 0,
        bytesUploaded: 0,
        timeline: {},
        updated: this.now(),
      };
      this.#clients.set(mac, c);
      this.#plan(c);
    }
    return c;
  }

  #advance(c: ClientInfo, phase: ClientPhase): void {
    c.timeline[phase] ??= this.now();
    // An agent back at the menu after an error, or a machine rebooting into DHCP, starts over.
    const restart = (c.phase === 'error' || c.phase === 'booted') && (phase === 'dhcp' || phase === 'menu');
    if (phase === 'error' || restart || ORDER.indexOf(phase) >= ORDER.indexOf(c.phase)) c.phase = phase;
  }
}

/** Swarm totals for the live view. */
export function totals(clients: readonly ClientInfo[]) {
  let fromServer = 0;
  let fromPeers = 0;
  let fromWebSeed = 0;
  for (const c of clients) {
    fromServer += c.bytesFromServer;
    fromPeers += c.bytesFromPeers;
    fromWebSeed += c.bytesFromWebSeed;
  }
  const all = fromServer + fromPeers + fromWebSeed;
  return { fromServer, fromPeers, fromWebSeed, serverShare: all ? (fromServer + fromWebSeed) / all : 0 };
}
