/**
 * UEFI HTTP boot (UEFI 2.x §24.7): the DHCP answer names a loader by URL,
 * `http://SERVER:PORT/snponly.efi`, next to the boot script. This route serves the loaders the build
 * copied into out/tftp under exactly those names, so what DHCP offers over HTTP is what TFTP serves.
 */
import { join } from 'node:path';
import type { ClientTable } from './clients.js';
import type { HttpRoute } from './http.js';
import { sendFile } from './range.js';

/** Options of {@link loaderRoutes}. */
export interface LoaderRouteOptions {
  /** out/tftp, where the build copied the loaders. */
  tftpRoot: string;
  /** The loader names there (`BuiltOut.loaders`); nothing else under the root is served. */
  loaders: readonly string[];
  /** Marks the machine that fetched one as in its `loader` phase, as a TFTP fetch does. */
  clients?: ClientTable;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `GET /<loader>` for each loader in out/tftp (HEAD too, and a single Range). */
export function loaderRoutes(o: LoaderRouteOptions): HttpRoute[] {
  const names = [...new Set(o.loaders)].filter((n) => /^[\w.-]+$/.test(n));
  if (names.length === 0) return [];
  return [
    {
      method: 'GET',
      path: new RegExp(`^/(${names.map(escape).join('|')})$`),
      async handle(req, res, ctx) {
        const name = ctx.params[0]!;
        const mac = o.clients?.macOf(ctx.remote);
        if (mac) o.clients!.observe(mac, { phase: 'loader' }, `http ${name}`);
        await sendFile(req, res, join(o.tftpRoot, name));
      },
    },
  ];
}
