/** Peer-ID prefixes (Azureus style, BEP 20): S = the server's seeder, A = an agent downloading. */
export const PEER_ID_PREFIX = { server: '-BS0100-', agent: '-BA0100-' } as const;

/** hex peer id → does it carry our server prefix? */
export function isServerPeerId(hex: string | undefined): boolean {
  return !!hex && Buffer.from(hex, 'hex').toString('latin1').startsWith(PEER_ID_PREFIX.server);
}

const OURS = Object.values(PEER_ID_PREFIX).map((p) => Buffer.from(p, 'latin1').toString('hex'));

/** hex peer id → is it a BootTorrent seeder's or agent's (this version's prefixes)? */
export function isBootTorrentPeerId(hex: string | undefined): boolean {
  const h = hex?.toLowerCase();
  return !!h && OURS.some((p) => h.startsWith(p));
}
