import { join } from 'node:path';
import { findHostParts } from '@boottorrent/initrd-builder';
import { ensureRequirements, labRequirements, unpackDeb } from '@boottorrent/lab';
import { cacheHome, hostSearchRoots } from '@boottorrent/server';
import { CliError, CliErrorCode } from '../command.js';

/** Debian packages unpacked (never installed) for phase-1: a kernel image and a static busybox. */
const UNPACKED = { 'linux-image': 'linux-image-amd64', 'busybox-static': 'busybox-static' } as const;

/**
 * Checks what the lab needs: the room's tools and firmware, and phase-1's host parts. Installs
 * nothing unless `install` is set: then apt-get installs the packages, and a kernel and
 * busybox-static are unpacked under ~/.cache/boottorrent/deb.
 */
export async function ensureLabDeps(o: {
  uefi: boolean;
  install: boolean;
  hostRoots?: string[];
  log: (s: string) => void;
}) {
  const logger = { info: o.log };
  await ensureRequirements(labRequirements({ uefi: o.uefi }), {
    install: o.install,
    installHint: 'boottorrent lab --install-deps',
    logger,
  });
  const parts = await findHostParts({ searchRoots: await hostSearchRoots(o.hostRoots) }).catch(
    (e: Error) => e,
  );
  if (!(parts instanceof Error)) return;
  if (!o.install) {
    throw new CliError(CliErrorCode.MissingDeps, parts.message, {
      cause: parts,
      hint: 'boottorrent lab --install-deps unpacks a Debian kernel and busybox-static under ~/.cache/boottorrent/deb',
    });
  }
  for (const [name, pkg] of Object.entries(UNPACKED))
    await unpackDeb(pkg, join(cacheHome(), 'deb', name), logger);
}
