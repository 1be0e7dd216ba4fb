import { join } from 'node:path';
import { findHostParts } from '@boottorrent/initrd-builder';
import { aptInstall, labRequirements, missingRequirements, unpackDeb } from '@boottorrent/lab';
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
  const missing = await missingRequirements(labRequirements({ uefi: o.uefi }));
  if (missing.length && !o.install) {
    throw new CliError(CliErrorCode.MissingDeps, `the lab needs ${missing.map((m) => m.what).join(', ')}`, {
      hint: `apt-get install ${[...new Set(missing.map((m) => m.pkg))].join(' ')}   (or: boottorrent lab --install-deps)`,
    });
  }
  const logger = { info: o.log };
  await aptInstall(missing, logger);
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
