import type { LoaderTools } from './loader.js';

/** Where the agent finds its inputs inside phase-1 (set up by @boottorrent/initrd-builder's /init). */
export interface AgentPaths {
  /** Payload root: manifest.json and torrents/. */
  payload: string;
  cmdline: string;
  /** Lease facts written by /init's udhcpc script. */
  lease: string;
  meminfo: string;
  /** tmpfs folder the OSes are downloaded into. */
  data: string;
}

/** The phase-1 layout. */
export const DEFAULT_PATHS: AgentPaths = {
  payload: '/boottorrent',
  cmdline: '/proc/cmdline',
  lease: '/run/boottorrent/lease',
  meminfo: '/proc/meminfo',
  data: '/run/boottorrent/oss',
};

/**
 * DEFAULT_PATHS with overrides from BT_PAYLOAD, BT_CMDLINE, BT_LEASE, BT_MEMINFO, BT_DATA: the
 * tests run the same bundle on the host under a pseudo-terminal.
 */
export function pathsFromEnv(env: NodeJS.ProcessEnv): AgentPaths {
  return {
    payload: env.BT_PAYLOAD ?? DEFAULT_PATHS.payload,
    cmdline: env.BT_CMDLINE ?? DEFAULT_PATHS.cmdline,
    lease: env.BT_LEASE ?? DEFAULT_PATHS.lease,
    meminfo: env.BT_MEMINFO ?? DEFAULT_PATHS.meminfo,
    data: env.BT_DATA ?? DEFAULT_PATHS.data,
  };
}

/**
 * The kexec binary from BT_KEXEC (default: `kexec` on PATH). The pty tests run the agent on the host,
 * where the real kexec must never run; they point this at a stand-in.
 */
export function toolsFromEnv(env: NodeJS.ProcessEnv): LoaderTools {
  return env.BT_KEXEC ? { kexec: env.BT_KEXEC } : {};
}
