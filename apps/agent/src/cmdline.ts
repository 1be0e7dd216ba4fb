/** Kernel command line words the agent understands (all optional). */
export interface BootArgs {
  /** `bt.os=<name>`: boot this OS with no menu (automation, tests). */
  os?: string;
  /** `bt.server=<addr>`: the server address, over the manifest and DHCP. */
  server?: string;
  /** `bt.stall=<s>`: give up a download after this many seconds without progress. */
  stallSeconds?: number;
}

/** Parses /proc/cmdline ("console=ttyS0 bt.os=debian quiet") into the words the agent uses. */
export function parseCmdline(text: string): BootArgs {
  const args: BootArgs = {};
  for (const word of text.trim().split(/\s+/)) {
    const eq = word.indexOf('=');
    if (eq < 0) continue;
    const key = word.slice(0, eq);
    const value = word.slice(eq + 1);
    if (key === 'bt.os' && value) args.os = value;
    if (key === 'bt.server' && value) args.server = value;
    if (key === 'bt.stall' && Number(value) > 0) args.stallSeconds = Number(value);
  }
  return args;
}

/** What /init's udhcpc script wrote: interface, mac, ip, mask, router, serverid, siaddr, server. */
export type Lease = Partial<
  Record<'interface' | 'mac' | 'ip' | 'mask' | 'router' | 'serverid' | 'siaddr' | 'server', string>
>;

/** Parses the `key=value` lease file; unknown keys and empty values are dropped. */
export function parseLease(text: string): Lease {
  const lease: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0 && line.slice(eq + 1).trim()) lease[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return lease as Lease;
}

/**
 * The server address: `bt.server=` first, then the manifest's (the server knows how it is reached;
 * in proxyDHCP mode the lease's siaddr/serverid name the site's DHCP server), then the lease.
 */
export function pickServer(
  args: BootArgs,
  manifestAddress: string | undefined,
  lease: Lease,
): string | undefined {
  if (args.server) return args.server;
  if (manifestAddress && manifestAddress !== '0.0.0.0' && manifestAddress !== '::') return manifestAddress;
  return lease.server ?? (lease.siaddr && lease.siaddr !== '0.0.0.0' ? lease.siaddr : lease.serverid);
}
