// A virtual room's network: one namespace with a bridge for the boot server, a tap per VM, router
// advertisements (iPXE otherwise waits ~16 s for one, see lab-facts) and, when asked, a site's DHCP
// server on a second host. `boottorrent lab` runs its server and VMs on it.
import type { ChildProcess } from 'node:child_process';
import { startDnsmasq } from './dnsmasq.js';
import { LabError, LabErrorCode, type Logger } from './errors.js';
import { stopProcess } from './exec.js';
import { checkCidr } from './names.js';
import { createNetns, type Netns } from './netns.js';
import type { NicOptions } from './vm.js';

/** Namespace prefix of a room (`bt-lab-<hex>`). */
export const DEFAULT_ROOM_PREFIX = 'bt-lab';
/** Most VMs a room numbers: their MACs run from 52:54:00:77:00:10 to 52:54:00:77:00:ff. */
export const MAX_ROOM_VMS = 0xf0;
/** How long dnsmasq gets to end on SIGTERM before SIGKILL. */
const DNSMASQ_GRACE_MS = 5000;

/** Options of {@link createRoom}. */
export interface RoomOptions {
  /** The boot server's IPv4 address on the bridge with the room's prefix length, e.g. `10.77.0.1/24`. */
  address: string;
  /** VMs in the room, one tap each (`tap0`, …). */
  vms: number;
  /** Where dnsmasq keeps its lease files. */
  workDir: string;
  /**
   * Also run the site's DHCP server: a second host (`<namespace>-site`, address `.2`) on the bridge
   * with dnsmasq leasing `.50`–`.99`, as a school's router would beside a proxyDHCP boot server.
   * @default false
   */
  siteDhcp?: boolean;
  /** @default DEFAULT_ROOM_PREFIX */
  prefix?: string;
  /** Gets a line (info) for the network and the site DHCP server once they are up. */
  logger?: Logger;
  /** Aborting it during setup rejects with LAB_ABORTED and removes what was made. */
  signal?: AbortSignal;
}

/** A room's network; `close()` ends its dnsmasq processes and deletes its namespaces, idempotently. */
export interface Room extends AsyncDisposable {
  /** The namespace with the bridge (`br0`, holding `address` and fd77::1/64) and the taps. */
  readonly netns: Netns;
  /** VM `i`'s MAC, 52:54:00:77:00:1`i` on. */
  readonly macs: readonly string[];
  /** VM `i`'s `netns` and `nic` for `startVm`: its tap in the room and its MAC. */
  vmNetwork(i: number, model?: string): { netns: Netns; nic: NicOptions };
  close(): Promise<void>;
}

/** Creates a room's network (needs root); a failure half-way removes what was made. */
export async function createRoom(o: RoomOptions): Promise<Room> {
  if (checkCidr(o.address, 'room address') !== 4)
    throw new LabError(LabErrorCode.BadOption, `room address "${o.address}" is not an IPv4 address`, {
      hint: 'write it as 10.77.0.1/24 (the bridge gets fd77::1/64 as well)',
    });
  const [hostIp, prefixText] = o.address.split('/') as [string, string];
  const prefix = Number(prefixText);
  if (!Number.isInteger(o.vms) || o.vms < 0 || o.vms > MAX_ROOM_VMS)
    throw new LabError(LabErrorCode.BadOption, `a room holds 0 to ${MAX_ROOM_VMS} VMs, not ${o.vms}`, {
      hint: `ask for at most ${MAX_ROOM_VMS}`,
    });
  const undo: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const u of undo.splice(0).reverse()) await u().catch(() => undefined);
  };
  try {
    const netns = await createNetns({
      prefix: o.prefix ?? DEFAULT_ROOM_PREFIX,
      bridge: { addresses: [o.address, 'fd77::1/64'], carrier: true },
      taps: o.vms,
      logger: o.logger,
      signal: o.signal,
    });
    undo.push(() => netns.close());
    o.logger?.info?.(`network: namespace ${netns.name}, bridge ${netns.bridge} ${o.address}, ${o.vms} taps`);
    const ra = startDnsmasq(netns, { iface: netns.bridge!, workDir: o.workDir, tag: 'ra', ra: true });
    undo.push(() => stop(ra));
    if (o.siteDhcp) {
      const base = hostIp.split('.').slice(0, 3).join('.');
      const site = await netns.addHost({ suffix: 'site', port: 'site0', addresses: [`${base}.2/${prefix}`] });
      undo.push(() => site.close());
      const dhcp = startDnsmasq(site, {
        iface: site.iface,
        workDir: o.workDir,
        tag: 'site',
        dhcp: { start: `${base}.50`, end: `${base}.99`, netmask: prefixToMask(prefix) },
      });
      undo.push(() => stop(dhcp));
      o.logger?.info?.(`site DHCP server: dnsmasq on ${site.name} (${base}.50–${base}.99)`);
    }
    const macs = Array.from({ length: o.vms }, (_, i) => `52:54:00:77:00:${(0x10 + i).toString(16)}`);
    let closing: Promise<void> | undefined;
    return {
      netns,
      macs,
      vmNetwork: (i, model) => ({ netns, nic: { tap: netns.taps[i], mac: macs[i], model } }),
      close: () => (closing ??= close()),
      [Symbol.asyncDispose]: () => (closing ??= close()),
    };
  } catch (e) {
    await close();
    throw e;
  }
}

const stop = (child: ChildProcess) => stopProcess(child, DNSMASQ_GRACE_MS);

/** 24 → 255.255.255.0 */
function prefixToMask(prefix: number): string {
  const n = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
}
