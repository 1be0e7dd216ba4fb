/** The default policy: a static plan from the config, picking the loader by firmware. */
import { ClientArch } from './constants.js';
import { PxeError, PxeErrorCode } from './errors.js';
import type { BootPlan, BootRefusal, Machine } from './machine.js';

/** Loader kinds, keyed by firmware family. */
export type LoaderKind = 'bios' | 'efi32' | 'efi64' | 'arm64' | 'http';

/**
 * Default loader file names (Debian's `ipxe` package ships undionly.kpxe and snponly.efi). `http`
 * is resolved against the script URL's directory, because UEFI HTTP boot needs a full URL.
 */
export const DEFAULT_LOADERS: Readonly<Record<LoaderKind, string>> = Object.freeze({
  bios: 'undionly.kpxe',
  efi32: 'ipxe-i386.efi',
  efi64: 'snponly.efi',
  arm64: 'ipxe-arm64.efi',
  http: 'snponly.efi',
});

/** The legacy BIOS loader of the original BootTorrent (pxelinux + pxelinux.cfg). */
export const LEGACY_BIOS_LOADER = 'pxelinux.0';

/** The CPU a phase-1 runs on; a client whose firmware is of another CPU cannot boot it. */
export type Phase1Arch = 'x86_64' | 'arm64';

/** Options of {@link staticPlan}. */
export interface StaticPlanOptions {
  /** URL of the iPXE script given to clients that are already iPXE, e.g. `http://10.77.0.1:8080/boot.ipxe`. */
  scriptUrl: string;
  /** Loader per firmware family. @default DEFAULT_LOADERS */
  loaders?: Partial<Record<LoaderKind, string>>;
  /** BIOS clients (iPXE or not) get `pxelinux.0` (or `loaders.bios`) as the original did. @default false */
  legacyPxelinux?: boolean;
  /**
   * Loader names the server actually serves (its TFTP root, also served over HTTP). A firmware
   * whose loader is not among them gets no answer (`loader-missing`) instead of a file that is not
   * there. @default every loader is assumed present
   */
  available?: readonly string[];
  /**
   * The CPU phase-1 is built for. Firmware of another CPU (ARM64 UEFI against an x86_64 phase-1)
   * gets no answer (`arch-unsupported`), iPXE included. @default 'x86_64'
   */
  phase1Arch?: Phase1Arch;
}

/** Loader family for an option-93 architecture (RFC 4578 §2.1), or null when unknown. */
export function loaderKindOf(arch: number | null, vendorClass: string | null): LoaderKind | null {
  if (vendorClass?.startsWith('HTTPClient')) return 'http';
  switch (arch) {
    case null:
    case ClientArch.IntelX86Pc:
      return 'bios';
    case ClientArch.EfiIa32:
      return 'efi32';
    case ClientArch.EfiX8664:
    case ClientArch.EfiBc:
      return 'efi64';
    case ClientArch.EfiArm64:
      return 'arm64';
    case ClientArch.EfiIa32Http:
    case ClientArch.EfiX8664Http:
    case ClientArch.EfiArm64Http:
      return 'http';
    default:
      return null;
  }
}

/** The CPU family of a firmware architecture: what code its loader must be. */
function cpuOf(arch: number | null): 'x86_64' | 'ia32' | 'arm64' {
  if (arch === ClientArch.EfiIa32 || arch === ClientArch.EfiIa32Http) return 'ia32';
  if (arch === ClientArch.EfiArm64 || arch === ClientArch.EfiArm64Http) return 'arm64';
  return 'x86_64';
}

/** How the live view names a firmware: `arm64 UEFI (arch 11)`. */
function firmwareName(arch: number | null, http: boolean): string {
  const cpu = { x86_64: 'x86_64', ia32: '32-bit', arm64: 'arm64' }[cpuOf(arch)];
  if (arch === null || arch === 0) return 'BIOS';
  return `${cpu} UEFI${http ? ' HTTP boot' : ''} (arch ${arch})`;
}

/**
 * The plan from the config: iPXE clients get `scriptUrl` (so they do not loop chain-loading iPXE),
 * others get the loader for their firmware; unknown architectures get null (not answered).
 * Firmware that cannot reach phase-1 (another CPU, a loader not on this server) is refused with a
 * reason rather than offered a loader that leads nowhere.
 */
export function staticPlan(opts: StaticPlanOptions): (m: Machine) => BootPlan | BootRefusal | null {
  let script: URL;
  try {
    script = new URL(opts.scriptUrl);
  } catch (cause) {
    throw new PxeError(PxeErrorCode.BadOption, `staticPlan: scriptUrl "${opts.scriptUrl}" is not a URL`, {
      cause,
    });
  }
  const loaders: Record<LoaderKind, string> = { ...DEFAULT_LOADERS, ...opts.loaders };
  if (opts.legacyPxelinux && opts.loaders?.bios === undefined) loaders.bios = LEGACY_BIOS_LOADER;
  const legacy = opts.legacyPxelinux ?? false;
  const phase1Arch = opts.phase1Arch ?? 'x86_64';
  const available = opts.available ? new Set(opts.available) : null;
  const missing = (name: string): boolean => available !== null && !available.has(name);
  return (m: Machine): BootPlan | BootRefusal | null => {
    const kind = loaderKindOf(m.arch, m.vendorClass);
    if (kind === null) return null;
    const cpu = cpuOf(m.arch);
    const what = firmwareName(m.arch, kind === 'http');
    if (cpu === 'arm64' && phase1Arch !== 'arm64')
      return { refuse: 'arch-unsupported', detail: `${what}, phase-1 is ${phase1Arch}` };
    if (legacy && kind === 'bios') return { bootFile: loaders.bios };
    if (m.isIpxe) return { bootFile: script.href };
    // HTTP boot fetches the same loader as its PXE sibling would, by URL next to the script.
    const name = kind === 'http' ? (cpu === 'ia32' ? loaders.efi32 : loaders.http) : loaders[kind];
    const url = kind === 'http' ? new URL(name, script) : null;
    const served = url && url.origin === script.origin ? url.pathname.replace(/^\//, '') : name;
    if ((url === null || url.origin === script.origin) && missing(served))
      return { refuse: 'loader-missing', detail: `${what} needs ${served}, which this server does not have` };
    return { bootFile: url ? url.href : name };
  };
}
