import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { withParents, writeArchiveFile } from './archive-file.js';
import type { CpioEntry } from './cpio.js';
import { InitrdError, InitrdErrorCode } from './errors.js';

/** Where the agent finds the payload inside the initramfs. */
export const PAYLOAD_PATHS = {
  manifest: '/boottorrent/manifest.json',
  torrents: '/boottorrent/torrents',
} as const;

/** Options of {@link buildPayload}. */
export interface BuildPayloadOptions {
  /** Output file (a gzip-compressed newc archive). */
  out: string;
  /** The client manifest, any JSON-able value; written as /boottorrent/manifest.json. */
  manifest: unknown;
  /** .torrent files, written as /boottorrent/torrents/<name>. */
  torrents: { name: string; data: Uint8Array }[];
}

/**
 * Writes the small per-project initrd that is loaded after phase-1: the client manifest and the
 * .torrent files. gzip -9, reproducible: the same manifest and torrents give the same bytes.
 */
export async function buildPayload(opts: BuildPayloadOptions): Promise<{ path: string; size: number }> {
  const entries: CpioEntry[] = [
    {
      path: PAYLOAD_PATHS.manifest,
      type: 'file',
      source: Buffer.from(`${JSON.stringify(opts.manifest, null, 2)}\n`),
    },
  ];
  for (const t of opts.torrents) {
    if (t.name.includes('/') || t.name === '..' || t.name === '.' || t.name === '') {
      throw new InitrdError(InitrdErrorCode.BadEntry, `torrent name "${t.name}" must be a plain file name`);
    }
    entries.push({ path: `${PAYLOAD_PATHS.torrents}/${t.name}`, type: 'file', source: t.data });
  }
  await mkdir(dirname(opts.out), { recursive: true });
  const size = await writeArchiveFile(opts.out, withParents(entries), 'gzip', undefined);
  return { path: opts.out, size };
}
