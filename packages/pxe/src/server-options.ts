/** Options of the DHCP server and their validation. */
import {
  DEFAULT_CLIENT_PORT,
  DEFAULT_LEASE_TIME,
  DEFAULT_PROXY_PORT,
  DEFAULT_SERVER_PORT,
} from './constants.js';
import { PxeError, PxeErrorCode } from './errors.js';
import type { Logger } from './events.js';
import { inSubnet, ipToNumber, isIpv4, normalizeMac, numberToIp, subnetOf, type Subnet } from './ip.js';
import type { RelayPool } from './lease-store.js';
import type { PlanFor } from './machine.js';
import type { InterfaceInfo } from './transport.js';

/**
 * A subnet whose clients reach us through a DHCP relay (BOOTP relay agent, RFC 1542 / RFC 2131
 * §4.3.1): a request whose `giaddr` lies in it gets an address from its `range` and its network
 * settings. Server mode only; proxy mode answers relayed requests without any of this.
 */
export interface DhcpSubnet {
  /** Address pool, inclusive; it defines the subnet together with `subnetMask`. */
  range: { start: string; end: string };
  /** Subnet mask (option 1), e.g. `255.255.255.0`. */
  subnetMask: string;
  /** Default gateway (option 3), normally the relay's own address on that subnet. @default none */
  router?: string;
  /** DNS servers (option 6). @default the server's `dns` */
  dns?: string[];
  /** Lease time in seconds. @default the server's `leaseTime` */
  leaseTime?: number;
}

/** Options of {@link startDhcpServer}. */
export interface DhcpServerOptions {
  /** Network interface to serve, e.g. `br0`. The server binds to it alone (SO_BINDTOIFINDEX). */
  interface: string;
  /** Our IPv4 address on that interface: server identifier (54) and default siaddr. */
  serverAddress: string;
  /** `server`: hand out addresses. `proxy`: only boot information, beside the site's DHCP server. */
  mode: 'server' | 'proxy';
  /** Address pool (server mode, required), inclusive, inside the interface's subnet. */
  range?: { start: string; end: string };
  /** Subnet mask given to clients. @default the interface's netmask */
  subnetMask?: string;
  /** Default gateway (option 3). @default none */
  router?: string;
  /** DNS servers (option 6). @default none */
  dns?: string[];
  /** Lease time in seconds. @default DEFAULT_LEASE_TIME (3600) */
  leaseTime?: number;
  /**
   * Subnets behind DHCP relays, picked by the request's `giaddr` (renewals by `ciaddr`). Replies
   * go to the relay, port `relayPort`; option 82 is echoed. A relayed request from a subnet not
   * listed is not answered (`ignored`, reason `unknown-subnet`). @default []
   */
  subnets?: DhcpSubnet[];
  /** Port of relay agents, where replies to relayed requests go (RFC 2131 §4.1). @default 67 */
  relayPort?: number;
  /**
   * Fixed addresses by MAC; they may lie outside the ranges but must be in the interface's subnet
   * or in one of `subnets`. @default []
   */
  reservations?: { mac: string; ip: string }[];
  /** JSON file the leases persist to (atomic writes). @default none: leases live in memory */
  leaseFile?: string;
  /** The boot policy; see `staticPlan`. */
  planFor: PlanFor;
  /** DHCP server port. @default 67 */
  port?: number;
  /** proxyDHCP (PXE boot server) port, proxy mode only. @default 4011 */
  proxyPort?: number;
  /** Port replies are sent to. @default 68 */
  clientPort?: number;
  /**
   * Where broadcast replies go. `limited` (255.255.255.255, RFC 2131 §4.1) is what UEFI firmware
   * accepts before it has an address; it works without a default route because the socket is
   * bound to the interface. `subnet` sends to the interface's subnet broadcast (e.g. 10.77.0.255),
   * which iPXE and Linux clients accept but OVMF's PXE ignores. @default 'limited'
   */
  broadcast?: 'limited' | 'subnet';
  /** Where diagnostics go. @default silent */
  logger?: Logger;
  /** Closes the server when aborted. */
  signal?: AbortSignal;
}

/** A relayed subnet after validation. */
export interface ResolvedSubnet {
  net: Subnet;
  pool: RelayPool;
  subnetMask: string;
  broadcast: string;
  router: string | undefined;
  dns: string[];
  leaseTime: number;
}

/** Options after validation, with defaults filled in. */
export interface ResolvedOptions {
  iface: InterfaceInfo;
  mode: 'server' | 'proxy';
  serverAddress: string;
  pool: { start: number; end: number } | null;
  subnetMask: string;
  router: string | undefined;
  dns: string[];
  leaseTime: number;
  reservations: Map<string, number>;
  /** Relayed subnets, with their pools and reply settings. */
  subnets: ResolvedSubnet[];
  relayPort: number;
  leaseFile: string | undefined;
  planFor: PlanFor;
  port: number;
  proxyPort: number;
  clientPort: number;
  /** Destination address of broadcast replies. */
  replyBroadcast: string;
  logger: Logger;
}

function invalid(msg: string): never {
  throw new PxeError(PxeErrorCode.BadOption, msg);
}

function port(name: string, v: number | undefined, def: number): number {
  const p = v ?? def;
  if (!Number.isInteger(p) || p < 0 || p > 65535) invalid(`${name} ${String(v)} is not a port number`);
  return p;
}

function broadcastAddress(b: DhcpServerOptions['broadcast'], iface: InterfaceInfo): string {
  if (b === undefined || b === 'limited') return '255.255.255.255';
  if (b === 'subnet') return iface.broadcast;
  return invalid(`broadcast "${String(b)}" must be "limited" or "subnet"`);
}

/** Validates `o` against the interface facts; never mutates `o`. */
export function resolveOptions(o: DhcpServerOptions, iface: InterfaceInfo): ResolvedOptions {
  if (o.mode !== 'server' && o.mode !== 'proxy')
    invalid(`mode "${String(o.mode)}" must be "server" or "proxy"`);
  if (typeof o.planFor !== 'function')
    invalid('planFor must be a function (use staticPlan for the config plan)');
  const subnetMask = o.subnetMask ?? iface.netmask;
  if (!isIpv4(subnetMask)) invalid(`subnetMask "${subnetMask}" is not an IPv4 mask`);
  const net = subnetOf(iface.address, iface.netmask);
  const inNet = (what: string, ip: string): number => {
    if (!isIpv4(ip)) invalid(`${what} "${ip}" is not an IPv4 address`);
    const n = ipToNumber(ip);
    if (!inSubnet(n, net))
      invalid(`${what} ${ip} is outside ${iface.address}/${iface.netmask} of ${iface.name}`);
    return n;
  };
  let pool: ResolvedOptions['pool'] = null;
  if (o.mode === 'server') {
    if (!o.range)
      invalid('range is required in server mode (e.g. { start: "10.77.0.100", end: "10.77.0.199" })');
    pool = { start: inNet('range.start', o.range.start), end: inNet('range.end', o.range.end) };
    if (pool.start > pool.end) invalid(`range.start ${o.range.start} is after range.end ${o.range.end}`);
  } else if (o.range || o.reservations?.length || o.leaseFile) {
    invalid('range, reservations and leaseFile are for server mode; proxy mode gives no addresses');
  }
  const leaseTime = o.leaseTime ?? DEFAULT_LEASE_TIME;
  checkLeaseTime(leaseTime);
  for (const d of o.dns ?? []) if (!isIpv4(d)) invalid(`dns "${d}" is not an IPv4 address`);
  const subnets = resolveSubnets(o, net, leaseTime);
  const reservations = new Map<string, number>();
  for (const r of o.reservations ?? []) {
    const mac = normalizeMac(r.mac);
    if (reservations.has(mac)) invalid(`reservation for ${mac} appears twice`);
    const relayed = isIpv4(r.ip) && subnets.some((s) => inSubnet(ipToNumber(r.ip), s.net));
    const ip = relayed ? ipToNumber(r.ip) : inNet(`reservation ${mac}`, r.ip);
    if ([...reservations.values()].includes(ip)) invalid(`reservation ${r.ip} is given to two MACs`);
    reservations.set(mac, ip);
  }
  if (o.router !== undefined && !isIpv4(o.router)) invalid(`router "${o.router}" is not an IPv4 address`);
  return {
    iface,
    mode: o.mode,
    serverAddress: o.serverAddress,
    pool,
    subnetMask,
    router: o.router,
    dns: [...(o.dns ?? [])],
    leaseTime,
    reservations,
    subnets,
    relayPort: port('relayPort', o.relayPort, DEFAULT_SERVER_PORT),
    leaseFile: o.leaseFile,
    planFor: o.planFor,
    port: port('port', o.port, DEFAULT_SERVER_PORT),
    proxyPort: port('proxyPort', o.proxyPort, DEFAULT_PROXY_PORT),
    clientPort: port('clientPort', o.clientPort, DEFAULT_CLIENT_PORT),
    replyBroadcast: broadcastAddress(o.broadcast, iface),
    logger: o.logger ?? {},
  };
}

function checkLeaseTime(t: number, what = 'leaseTime'): void {
  if (!Number.isInteger(t) || t < 1 || t > 0xfffffffe) invalid(`${what} ${t} must be whole seconds ≥ 1`);
}

/** Validates `subnets`: each range inside its subnet, no subnet overlapping the interface's or another. */
function resolveSubnets(o: DhcpServerOptions, local: Subnet, leaseTime: number): ResolvedSubnet[] {
  const list = o.subnets ?? [];
  if (list.length > 0 && o.mode !== 'server')
    invalid('subnets are for server mode; proxy mode answers relayed requests without a pool');
  const out: ResolvedSubnet[] = [];
  list.forEach((s, i) => {
    const at = `subnets[${i}]`;
    for (const ip of [s.range?.start, s.range?.end, s.subnetMask, s.router, ...(s.dns ?? [])])
      if (ip !== undefined && !isIpv4(ip)) invalid(`${at}: "${ip}" is not an IPv4 address`);
    if (!s.range || !s.subnetMask) invalid(`${at}: range and subnetMask are required`);
    const net = subnetOf(s.range.start, s.subnetMask);
    const start = ipToNumber(s.range.start);
    const end = ipToNumber(s.range.end);
    const where = `${numberToIp(net.network)}/${s.subnetMask}`;
    if (!inSubnet(end, net)) invalid(`${at}: range.end ${s.range.end} is outside ${where}`);
    if (start > end) invalid(`${at}: range.start ${s.range.start} is after range.end ${s.range.end}`);
    if (s.router !== undefined && !inSubnet(ipToNumber(s.router), net))
      invalid(`${at}: router ${s.router} is outside ${where}`);
    const overlaps = (a: Subnet, b: Subnet) => inSubnet(a.network, b) || inSubnet(b.network, a);
    if (overlaps(net, local)) invalid(`${at}: ${where} overlaps the served interface's own subnet`);
    const other = out.findIndex((r) => overlaps(net, r.net));
    if (other >= 0) invalid(`${at}: ${where} overlaps subnets[${other}]`);
    const lt = s.leaseTime ?? leaseTime;
    checkLeaseTime(lt, `${at}: leaseTime`);
    out.push({
      net,
      pool: { start, end, network: net.network, mask: net.mask },
      subnetMask: s.subnetMask,
      broadcast: numberToIp(net.broadcast),
      router: s.router,
      dns: [...(s.dns ?? o.dns ?? [])],
      leaseTime: lt,
    });
  });
  return out;
}
