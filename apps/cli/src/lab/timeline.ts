import type { ClientPhase } from '@boottorrent/config';
import { formatBytes as bytes } from '@boottorrent/server';

/** Milestones of one VM, in seconds since it was powered on. */
export interface VmTimeline {
  index: number;
  mac: string;
  ip?: string;
  /** reached the OS (the marker on its serial console) */
  ok: boolean;
  killed: boolean;
  error?: string;
  marks: Partial<Record<Milestone, number>>;
  bytesFromServer: number;
  bytesFromPeers: number;
  bytesFromWebSeed: number;
  bytesUploaded: number;
  /** Where its phase-1 runtime came from: 'server', or the peer as "<ip> (<mac>)" (the server says). */
  runtimeFrom?: string;
}

export const MILESTONES = [
  'dhcp',
  'loader',
  'phase1',
  'menu',
  'download',
  'downloaded',
  'loading',
  'booted',
] as const;
export type Milestone = (typeof MILESTONES)[number];

/** Agent/server phases → the lab's milestones. */
export const PHASE_MILESTONE: Partial<Record<ClientPhase, Milestone>> = {
  dhcp: 'dhcp',
  loader: 'loader',
  phase1: 'phase1',
  menu: 'menu',
  downloading: 'download',
  seeding: 'downloaded',
  loading: 'loading',
  booted: 'booted',
};

export interface LabSummary {
  ok: boolean;
  vms: VmTimeline[];
  fromServer: number;
  fromPeers: number;
  fromWebSeed: number;
  /** (server + web seed) / all OS bytes the clients received */
  serverShare: number;
  /** How many VMs got phase-1's runtime from the server and how many from a peer. */
  runtime: { fromServer: number; fromPeers: number };
}

export function summarize(vms: VmTimeline[]): LabSummary {
  const fromServer = vms.reduce((a, v) => a + v.bytesFromServer, 0);
  const fromPeers = vms.reduce((a, v) => a + v.bytesFromPeers, 0);
  const fromWebSeed = vms.reduce((a, v) => a + v.bytesFromWebSeed, 0);
  const all = fromServer + fromPeers + fromWebSeed;
  return {
    ok: vms.every((v) => v.ok || v.killed),
    vms,
    fromServer,
    fromPeers,
    fromWebSeed,
    serverShare: all ? (fromServer + fromWebSeed) / all : 1,
    runtime: {
      fromServer: vms.filter((v) => v.runtimeFrom === 'server').length,
      fromPeers: vms.filter((v) => v.runtimeFrom !== undefined && v.runtimeFrom !== 'server').length,
    },
  };
}

/** The printed report: one row per VM with its milestones, then the byte split. */
export function formatSummary(s: LabSummary): string {
  const head = ['vm', 'mac', ...MILESTONES, 'result'];
  const rows = s.vms.map((v) => [
    String(v.index),
    v.mac,
    ...MILESTONES.map((m) => (v.marks[m] === undefined ? '-' : `${v.marks[m]!.toFixed(1)}s`)),
    v.ok ? 'OS booted' : v.killed ? 'killed (fault)' : `FAILED${v.error ? `: ${v.error}` : ''}`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  const split = [
    `OS bytes received: ${bytes(s.fromServer)} from the server's seeder, ${bytes(s.fromPeers)} from peers, ${bytes(s.fromWebSeed)} from the web seed`,
    `server share: ${(s.serverShare * 100).toFixed(1)}%`,
    `phase-1 runtime: ${s.runtime.fromServer} from the server, ${s.runtime.fromPeers} from peers` +
      s.vms
        .filter((v) => v.runtimeFrom)
        .map((v) => `; vm${v.index} from ${v.runtimeFrom}`)
        .join(''),
  ];
  return [line(head), ...rows.map(line), '', ...split].join('\n');
}
