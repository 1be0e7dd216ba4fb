/**
 * Phase-1's NIC modules per machine: the boot script names the modules archive as
 * `/phase1/nic/${netX/busid:hexraw}/modules.cpio.<ext>`, iPXE fills in the PCI vendor and device of
 * the NIC it booted from, and the server answers with only the drivers that match it (plus what they
 * need) instead of every NIC driver. See @boottorrent/initrd-builder's openNicModules.
 */
import { basename } from 'node:path';
import { openNicModules, type NicArchive, type NicModules } from '@boottorrent/initrd-builder';
import { IPXE_BUSID } from '@boottorrent/pxe';
import type { HttpRoute } from './http.js';
import { oneLine } from './line.js';
import { sendFile } from './range.js';

/** Path prefix of the per-NIC modules URL; under /phase1/, so it counts as the loader's bytes. */
export const NIC_URL_PATH = '/phase1/nic/';

/** The modules archive's name as the build writes it (`modules.cpio.xz`, `.zst`, `.gz`). */
const ARCHIVE_NAME = /^modules\.cpio\.(xz|zst|gz)$/;

/** What iPXE's hex setting formats can produce (hex, hexhyp, hexraw); longer is not a bus id. */
const BUSID_TEXT = /^[0-9A-Za-z:-]{0,64}$/;

/** The modules archive among phase-1's initrds, by the name the build gives it; undefined if none. */
export function findNicModulesArchive(initrds: readonly string[]): string | undefined {
  return initrds.find((p) => ARCHIVE_NAME.test(basename(p)));
}

/** The boot script's URL for the modules archive: iPXE expands the bus id of its boot NIC. */
export function nicModulesUrl(baseUrl: string, archive: string): string {
  return `${baseUrl}${NIC_URL_PATH}${IPXE_BUSID}/${basename(archive)}`;
}

/** Options of {@link nicModulesRoute}. */
export interface NicRouteOptions {
  /** The full modules archive (every NIC driver); what any machine gets whose NIC is not matched. */
  archive: string;
  /** @default openNicModules(archive) */
  modules?: NicModules;
  /** Each answer: which modules a bus id got (or why the full set). */
  onServe?: (busid: string, answer: NicArchive | null) => void;
}

/**
 * `GET /phase1/nic/<busid>/<modules archive name>`: one NIC's modules when `busid` (iPXE's
 * `${netX/busid}`) is a PCI id some driver matches, else the full set (never a machine without its
 * driver). A bus id iPXE cannot produce gets 400, another name 404, each one line. The header
 * `x-boottorrent-nic` says what was sent: the module names, or `full (<reason>)`.
 */
export function nicModulesRoute(o: NicRouteOptions): HttpRoute {
  const modules = o.modules ?? openNicModules(o.archive);
  const name = basename(o.archive);
  return {
    method: 'GET',
    path: /^\/phase1\/nic\/([^/]*)\/([^/]+)$/,
    async handle(req, res, ctx) {
      const [busid, file] = ctx.params as [string, string];
      if (file !== name) return ctx.send(404, `not found: ${oneLine(ctx.path)}\n`);
      if (!BUSID_TEXT.test(busid))
        return ctx.send(
          400,
          `bad NIC bus id "${oneLine(busid, 40)}": expected iPXE's \${netX/busid}, e.g. 018086100e\n`,
        );
      // A failure to cut (a broken archive, no xz) must not leave the machine without a driver.
      const a = await modules.archiveFor(busid).catch(() => null);
      o.onServe?.(busid, a);
      if (!a || a.kind === 'full') {
        res.setHeader('x-boottorrent-nic', `full (${a?.reason ?? 'error'})`);
        await sendFile(req, res, o.archive);
        return;
      }
      res.setHeader('x-boottorrent-nic', a.modules.join(' '));
      res.setHeader('content-type', 'application/octet-stream');
      res.setHeader('content-length', a.data.length);
      res.writeHead(200);
      res.end(req.method === 'HEAD' ? undefined : a.data);
    },
  };
}
