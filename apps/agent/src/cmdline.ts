import { findMachine, type ClientManifest } from '@boottorrent/config';

/** Kernel command line words the agent understands (all optional). */
export interface BootArgs {
  /** `bt.os=<name>`: boot this OS with no menu (automation, tests). */
  os?: string;
  /** `bt.server=<addr>`: the server address, over the manifest and DHCP. */
  server?: string;
  /** `bt.stall=<s>`: give up a download after this many seconds without progress. */
  stallSeconds?: number;
  /**
   * `bt.menu=0|1` (the server's `machines:` plan): 0 boots at once (`bt.os=` or the default), 1 shows
   * the menu with `bt.os=` preselected. Without it, `bt.os=` alone boots at once.
   */
  menu?: boolean;
  /** The words after `bt.extra` (always last): extra kernel command line for a kexec OS. */
  extra?: string;
}

/** Parses /proc/cmdline ("console=ttyS0 bt.os=debian quiet") into the words the agent uses. */
export function parseCmdline(text: string): BootArgs {
  const args: BootArgs = {};
  const words = text.trim().split(/\s+/);
  const marker = words.indexOf('bt.extra');
  if (marker >= 0) {
    const extra = words.splice(marker).slice(1).join(' ');
    if (extra) args.extra = extra;
  }
  for (const word of words) {
    const eq = word.indexOf('=');
    if (eq < 0) continue;
    const key = word.slice(0, eq);
    const value = word.slice(eq + 1);
    if (key === 'bt.os' && value) args.os = value;
    if (key === 'bt.server' && value) args.server = value;
    if (key === 'bt.stall' && Number(value) > 0) args.stallSeconds = Number(value);
    if (key === 'bt.menu' && (value === '0' || value === '1')) args.menu = value === '1';
  }
  return args;
}

/**
 * The plan for a machine booted without the per-client iPXE script (pxelinux, TFTP-only sites):
 * when the command line has no `bt.menu=` and no `bt.extra`, the manifest's `machines:` entry for
 * this MAC (exact MAC first, then the longest prefix) supplies the OS, menu flag and extra words.
 */
export function withManifestPlan(
  args: BootArgs,
  manifest: Pick<ClientManifest, 'machines'>,
  mac: string | undefined,
): BootArgs {
  if (args.menu !== undefined || args.extra !== undefined || !mac || !manifest.machines) return args;
  const found = findMachine(manifest.machines, mac);
  if (!found) return args;
  const e = found.entry;
  return {
    ...args,
    ...(e.os !== undefined && { os: e.os }),
    menu: e.menu,
    ...(e.cmdline.trim() && { extra: e.cmdline.trim() }),
  };
}

/** How the agent starts: an OS to boot at once, or the menu with its preselected entry and countdown. */
export interface StartPlan {
  /** Boot this OS at once (no menu), when set. */
  boot?: string;
  /** Folder name highlighted in the menu, or null for the first entry. */
  preselect: string | null;
  /** The menu's countdown: 0 boots the preselected entry at once, negative waits. */
  timeout: number;
}

/**
 * Reads `bt.os=` and `bt.menu=` over the manifest: `bt.os=X` alone or with `bt.menu=0` boots X at
 * once; `bt.menu=1` shows the menu with X preselected and the usual countdown; `bt.menu=0` alone
 * boots the default at once.
 */
export function startPlan(
  args: BootArgs,
  manifest: { defaultOs: string | null; timeout: number },
): StartPlan {
  if (args.os && args.menu !== true) return { boot: args.os, preselect: args.os, timeout: manifest.timeout };
  return {
    preselect: args.os ?? manifest.defaultOs,
    timeout: args.menu === false ? 0 : manifest.timeout,
  };
}

/** The OS with `extra` appended to its kexec command line (other methods take no command line). */
export function withExtraCmdline<T extends { kexec?: { cmdline: string } }>(os: T, extra?: string): T {
  if (!extra || !os.kexec) return os;
  return { ...os, kexec: { ...os.kexec, cmdline: [os.kexec.cmdline, extra].filter(Boolean).join(' ') } };
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
