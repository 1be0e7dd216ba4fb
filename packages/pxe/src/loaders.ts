/**
 * Where the boot loaders the plan hands out are found on a Debian host, and which package ships
 * each: the one list of loader names (the plan's defaults name the files, this list locates them).
 */
import { access } from 'node:fs/promises';
import { DEFAULT_LOADERS, LEGACY_BIOS_LOADER } from './plan.js';

/** A loader file served from the TFTP root, with the host paths it may be copied from. */
export interface LoaderSource {
  /** Name under the TFTP root (what DHCP hands out). */
  name: string;
  /** Host paths, first found wins. */
  candidates: readonly string[];
  /** The Debian package that ships it (for the "install it" hint). */
  pkg: string;
}

/** Every loader a boot server may serve, as Debian 12 ships them. */
export const HOST_LOADERS: readonly LoaderSource[] = Object.freeze([
  { name: DEFAULT_LOADERS.bios, candidates: ['/usr/lib/ipxe/undionly.kpxe'], pkg: 'ipxe' },
  { name: DEFAULT_LOADERS.efi64, candidates: ['/usr/lib/ipxe/snponly.efi'], pkg: 'ipxe' },
  { name: 'ipxe.efi', candidates: ['/usr/lib/ipxe/ipxe.efi', '/boot/ipxe.efi'], pkg: 'ipxe' },
  { name: LEGACY_BIOS_LOADER, candidates: ['/usr/lib/PXELINUX/pxelinux.0'], pkg: 'pxelinux' },
  { name: 'ldlinux.c32', candidates: ['/usr/lib/syslinux/modules/bios/ldlinux.c32'], pkg: 'syslinux-common' },
  { name: 'syslinux.efi', candidates: ['/usr/lib/SYSLINUX.EFI/efi64/syslinux.efi'], pkg: 'syslinux-efi' },
  { name: 'ldlinux.e64', candidates: ['/usr/lib/syslinux/modules/efi64/ldlinux.e64'], pkg: 'syslinux-efi' },
]);

/** The loaders a configuration cannot boot without: BIOS and UEFI x64, through iPXE or pxelinux. */
export function requiredLoaders(legacyPxelinux: boolean): string[] {
  return legacyPxelinux
    ? [LEGACY_BIOS_LOADER, 'ldlinux.c32', DEFAULT_LOADERS.efi64]
    : [DEFAULT_LOADERS.bios, DEFAULT_LOADERS.efi64];
}

/** The first host path of `l` that exists, or undefined when its package is not installed. */
export async function findLoader(l: LoaderSource): Promise<string | undefined> {
  for (const c of l.candidates) {
    const found = await access(c).then(
      () => true,
      () => false,
    );
    if (found) return c;
  }
  return undefined;
}
