import { access } from 'node:fs/promises';

/**
 * Boot loaders taken from the host's Debian packages. Each name maps to where Debian puts it, the
 * package that ships it, and whether the server needs it for the configured boot paths.
 */
export interface LoaderSource {
  /** Name under the TFTP root (what DHCP hands out). */
  name: string;
  candidates: string[];
  pkg: string;
}

export const LOADERS: readonly LoaderSource[] = [
  { name: 'undionly.kpxe', candidates: ['/usr/lib/ipxe/undionly.kpxe'], pkg: 'ipxe' },
  { name: 'snponly.efi', candidates: ['/usr/lib/ipxe/snponly.efi'], pkg: 'ipxe' },
  { name: 'ipxe.efi', candidates: ['/usr/lib/ipxe/ipxe.efi', '/boot/ipxe.efi'], pkg: 'ipxe' },
  { name: 'pxelinux.0', candidates: ['/usr/lib/PXELINUX/pxelinux.0'], pkg: 'pxelinux' },
  { name: 'ldlinux.c32', candidates: ['/usr/lib/syslinux/modules/bios/ldlinux.c32'], pkg: 'syslinux-common' },
  { name: 'syslinux.efi', candidates: ['/usr/lib/SYSLINUX.EFI/efi64/syslinux.efi'], pkg: 'syslinux-efi' },
  { name: 'ldlinux.e64', candidates: ['/usr/lib/syslinux/modules/efi64/ldlinux.e64'], pkg: 'syslinux-efi' },
];

/** The loaders a configuration cannot boot without. */
export function requiredLoaders(legacyPxelinux: boolean): string[] {
  return legacyPxelinux ? ['pxelinux.0', 'ldlinux.c32', 'snponly.efi'] : ['undionly.kpxe', 'snponly.efi'];
}

export async function findLoader(l: LoaderSource): Promise<string | undefined> {
  for (const c of l.candidates) {
    if (
      await access(c).then(
        () => true,
        () => false,
      )
    )
      return c;
  }
  return undefined;
}
