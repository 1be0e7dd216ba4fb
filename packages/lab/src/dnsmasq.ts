// dnsmasq inside a lab namespace: IPv6 router advertisements only (iPXE waits ~16 s for one without,
// see lab-facts), or a site's DHCP server beside ours. dnsmasq-base, never the service package.
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Netns } from './netns.js';

/** Options of {@link startDnsmasq}. */
export interface DnsmasqOptions {
  /** The interface it serves, inside `host`. */
  iface: string;
  /** Where its lease file goes. */
  workDir: string;
  /** Names the lease file (`dnsmasq-<tag>.leases`). */
  tag: string;
  /** Send router advertisements for fd77::/64 only (no DHCPv6). @default false */
  ra?: boolean;
  /** An IPv4 DHCP pool: `{ start, end, netmask }`, authoritative. */
  dhcp?: { start: string; end: string; netmask: string };
}

/** Starts dnsmasq (DNS off) in `host`; stop it with `stopProcess(child)`. */
export function startDnsmasq(host: Netns, o: DnsmasqOptions): ChildProcess {
  const args = [
    '--keep-in-foreground',
    '--conf-file=/dev/null',
    '--port=0',
    `--interface=${o.iface}`,
    '--bind-interfaces',
    '--pid-file=',
    `--dhcp-leasefile=${join(o.workDir, `dnsmasq-${o.tag}.leases`)}`,
    ...(o.ra ? ['--enable-ra', '--dhcp-range=fd77::,ra-only,64'] : []),
    ...(o.dhcp
      ? [
          `--dhcp-range=${o.dhcp.start},${o.dhcp.end},${o.dhcp.netmask},1h`,
          '--dhcp-authoritative',
          '--no-ping',
        ]
      : []),
  ];
  return host.spawn('dnsmasq', args, { stdio: 'ignore' });
}
