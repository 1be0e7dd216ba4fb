// What happened to each VM of a virtual room, and the room's byte split: the result of a lab run.

/** A VM's milestones from power-on to its OS, in the order a network boot passes them. */
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

/** The phases a BootTorrent client reports (`ClientPhase` of @boottorrent/config) → milestones. */
export const PHASE_MILESTONE: Readonly<Partial<Record<string, Milestone>>> = {
  dhcp: 'dhcp',
  loader: 'loader',
  phase1: 'phase1',
  menu: 'menu',
  downloading: 'download',
  seeding: 'downloaded',
  loading: 'loading',
  booted: 'booted',
};

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

/** A lab run's result: every VM's timeline and where the OS bytes came from. */
export interface LabSummary {
  /** Every VM reached its OS, but those a fault powered off. */
  ok: boolean;
  vms: VmTimeline[];
  fromServer: number;
  fromPeers: number;
  fromWebSeed: number;
  /** (server + web seed) / all OS bytes the clients received; 1 when none were received. */
  serverShare: number;
  /** How many VMs got phase-1's runtime from the server and how many from a peer. */
  runtime: { fromServer: number; fromPeers: number };
}

/** Adds up the VMs' timelines into the run's result. */
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
