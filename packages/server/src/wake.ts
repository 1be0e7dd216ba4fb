import { createSocket } from 'node:dgram';
import { readFile } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { machineMacs, parseMacPattern, type Project } from '@boottorrent/config';
import { ServerError, ServerErrorCode } from './errors.js';
import { oneLine } from './line.js';

/** UDP port of Wake-on-LAN magic packets ("discard"; 7 and 0 are also seen, 9 is the common one). */
export const WOL_PORT = 9;
/** A magic packet: 6 × 0xFF, then the MAC 16 times (AMD, "Magic Packet Technology", 1995). */
export const MAGIC_PACKET_SIZE = 6 + 16 * 6;

const MAC = /^[0-9a-f]{2}([:-][0-9a-f]{2}){5}$/i;

/** A MAC as lower case with colons, or null when `text` is not six hex pairs. */
export function normalizeWakeMac(text: string): string | null {
  const s = text.trim();
  return MAC.test(s) ? s.toLowerCase().replaceAll('-', ':') : null;
}

/** The 102-byte magic packet that wakes `mac`. Throws SERVER_BAD_OPTION for a bad MAC. */
export function magicPacket(mac: string): Buffer {
  const m = normalizeWakeMac(mac);
  if (!m) throw badMac(mac);
  const hw = Buffer.from(m.replaceAll(':', ''), 'hex');
  const packet = Buffer.alloc(MAGIC_PACKET_SIZE, 0xff);
  for (let i = 0; i < 16; i++) hw.copy(packet, 6 + i * 6);
  return packet;
}

function badMac(mac: string): ServerError {
  return new ServerError(
    ServerErrorCode.BadOption,
    `bad MAC "${oneLine(mac, 40)}": expected six hex pairs, e.g. 52:54:00:12:34:56`,
    { hint: 'give MACs as aa:bb:cc:dd:ee:ff, or --all for every known machine' },
  );
}

/** A machine the server knows by MAC, and where from. */
export interface KnownMachine {
  mac: string;
  /** Its last leased or reserved address, if any. */
  ip?: string;
  /** The `machines:` entry's name, if it has one. */
  name?: string;
  /** Where the MAC was found: DHCP leases, config.yaml's `machines:` or `dhcp.reservations`. */
  sources: ('lease' | 'machines' | 'reservation')[];
}

/**
 * Every machine the project knows by exact MAC: the DHCP leases the server saved
 * (`<outDir>/leases.json`, written by @boottorrent/pxe), config.yaml's `machines:` (prefix patterns
 * name no machine and are skipped) and `dhcp.reservations`. Sorted by MAC.
 */
export async function knownMachines(project: Project, o: { outDir?: string } = {}): Promise<KnownMachine[]> {
  const byMac = new Map<string, KnownMachine>();
  const add = (mac: string, source: KnownMachine['sources'][number], extra: Partial<KnownMachine> = {}) => {
    const k = byMac.get(mac) ?? { mac, sources: [] };
    if (!k.sources.includes(source)) k.sources.push(source);
    byMac.set(mac, { ...k, ...extra, sources: k.sources });
  };
  const file = join(o.outDir ?? join(project.dir, 'out'), 'leases.json');
  const text = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    throw new ServerError(ServerErrorCode.BadOption, `cannot read ${file}: ${e.message}`, { cause: e });
  });
  if (text !== null) {
    let leases: unknown;
    try {
      leases = (JSON.parse(text) as { leases?: unknown }).leases;
    } catch (e) {
      throw new ServerError(ServerErrorCode.BadOption, `${file} is not JSON`, {
        cause: e,
        hint: 'move it away (the DHCP server starts a new one) or give the MACs',
      });
    }
    for (const l of Array.isArray(leases) ? leases : []) {
      const { mac, ip } = (l ?? {}) as { mac?: unknown; ip?: unknown };
      const m = typeof mac === 'string' ? normalizeWakeMac(mac) : null;
      if (m) add(m, 'lease', typeof ip === 'string' ? { ip } : {});
    }
  }
  for (const entry of project.config.machines) {
    for (const text of machineMacs(entry)) {
      const p = parseMacPattern(text);
      if (p?.kind === 'mac') add(p.mac, 'machines', entry.name ? { name: entry.name } : {});
    }
  }
  for (const r of project.config.dhcp.reservations) {
    const m = normalizeWakeMac(r.mac);
    if (m) add(m, 'reservation', { ip: r.ip });
  }
  return [...byMac.values()].sort((a, b) => a.mac.localeCompare(b.mac));
}

/** Where magic packets go out: the interface holding `address`, and its subnet broadcast. */
export function wakeTarget(address: string): { iface: string; broadcast: string } {
  for (const [iface, addrs] of Object.entries(networkInterfaces())) {
    const a = addrs?.find((x) => x.family === 'IPv4' && x.address === address);
    if (!a) continue;
    const ip = toInt(a.address);
    const mask = toInt(a.netmask);
    return { iface, broadcast: fromInt((ip | ~mask) >>> 0) };
  }
  throw new ServerError(ServerErrorCode.Interface, `no interface holds ${address}`, {
    hint: 'set general.host_ip to the address of the boot interface',
  });
}

const toInt = (ip: string) => ip.split('.').reduce((n, o) => (n << 8) + Number(o), 0) >>> 0;
const fromInt = (n: number) => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');

/** Options of {@link sendWake}. */
export interface WakeOptions {
  /** The machines to wake (checked all first: one bad MAC sends nothing). */
  macs: readonly string[];
  /** The server's address on the boot interface (`general.host_ip`): packets leave from it. */
  address: string;
  /** Destination address. @default the subnet broadcast of the interface holding `address` */
  broadcast?: string;
  /** Destination UDP port. @default {@link WOL_PORT} */
  port?: number;
}

/** One magic packet sent. */
export interface WakeSent {
  mac: string;
  /** Interface name, destination address and port. */
  iface: string;
  to: string;
  port: number;
}

/**
 * Sends one Wake-on-LAN magic packet per MAC as a UDP broadcast on the boot interface: from a
 * socket bound to `address` (so the kernel routes the broadcast out of the interface holding it;
 * no privileges needed) to that interface's broadcast address, port 9. A NIC armed for WoL
 * matches the packet in any frame it receives, so the subnet broadcast reaches every machine on
 * the segment. Resolves once every packet was handed to the kernel.
 */
export async function sendWake(o: WakeOptions): Promise<WakeSent[]> {
  const macs = o.macs.map((m) => normalizeWakeMac(m) ?? badMacThrow(m));
  const { iface, broadcast } = wakeTarget(o.address);
  const to = o.broadcast ?? broadcast;
  const port = o.port ?? WOL_PORT;
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new ServerError(ServerErrorCode.BadOption, `wake port ${port} is not a UDP port`, {
      hint: 'use 9 (or 7)',
    });
  if (!macs.length) return [];
  const sock = createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind({ address: o.address, port: 0 }, () => {
        sock.off('error', reject);
        resolve();
      });
    });
    sock.setBroadcast(true);
    const sent: WakeSent[] = [];
    for (const mac of macs) {
      await new Promise<void>((resolve, reject) =>
        sock.send(magicPacket(mac), port, to, (e) => (e ? reject(e) : resolve())),
      );
      sent.push({ mac, iface, to, port });
    }
    return sent;
  } catch (e) {
    if (e instanceof ServerError) throw e;
    throw new ServerError(
      ServerErrorCode.Start,
      `cannot send Wake-on-LAN to ${to}:${port} from ${o.address}: ${(e as Error).message}`,
      { cause: e },
    );
  } finally {
    sock.close();
  }
}

function badMacThrow(mac: string): never {
  throw badMac(mac);
}

/**
 * What `boottorrent wake` does: wakes `macs`, or with `all` every {@link knownMachines} entry,
 * from the project's `general.host_ip`. Neither given, or `all` with no known machine, is a
 * SERVER_BAD_OPTION saying where machines come from.
 */
export async function wakeProject(
  project: Project,
  o: { macs?: readonly string[]; all?: boolean; outDir?: string; port?: number },
): Promise<WakeSent[]> {
  const given = o.macs ?? [];
  for (const m of given) if (!normalizeWakeMac(m)) throw badMac(m);
  const macs = [...given];
  if (o.all) macs.push(...(await knownMachines(project, { outDir: o.outDir })).map((k) => k.mac));
  const unique = [...new Set(macs.map((m) => normalizeWakeMac(m)!))];
  if (!unique.length)
    throw new ServerError(
      ServerErrorCode.BadOption,
      o.all ? `no known machines in ${project.dir}` : 'no machine to wake',
      {
        hint: o.all
          ? 'machines are known from out/leases.json (DHCP), machines: and dhcp.reservations in config.yaml; or give --mac'
          : 'give --mac aa:bb:cc:dd:ee:ff (repeatable) or --all',
      },
    );
  return sendWake({ macs: unique, address: project.config.general.host_ip, port: o.port });
}
