/** The default policy: a static plan from the config, picking the loader by firmware. */
import { ClientArch } from './constants.js';
import { PxeError, PxeErrorCode } from './errors.js';
import type { BootPlan, Machine, PlanFor } from './machine.js';

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

/** Options of {@link staticPlan}. */
export interface StaticPlanOptions {
  /** URL of the iPXE script given to clients that are already iPXE, e.g. `http://10.77.0.1:8080/boot.ipxe`. */
  scriptUrl: string;
  /** Loader per firmware family. @default DEFAULT_LOADERS */
  loaders?: Partial<Record<LoaderKind, string>>;
  /** BIOS clients (iPXE or not) get `pxelinux.0` (or `loaders.bios`) as the original did. @default false */
  legacyPxelinux?: boolean;
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

/**
 * The plan from the config: iPXE clients get `scriptUrl` (so they do not loop chain-loading iPXE),
 * others get the loader for their firmware; unknown architectures get null (not answered).
 */
export function staticPlan(opts: StaticPlanOptions): PlanFor {
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
  const httpLoader = new URL(loaders.http, script).href;
  const legacy = opts.legacyPxelinux ?? false;
  return (m: Machine): BootPlan | null => {
    const kind = loaderKindOf(m.arch, m.vendorClass);
    if (kind === null) return null;
    if (legacy && kind === 'bios') return { bootFile: loaders.bios };
    if (m.isIpxe) return { bootFile: script.href };
    return { bootFile: kind === 'http' ? httpLoader : loaders[kind] };
  };
}
