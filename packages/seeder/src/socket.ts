import type { Socket } from 'node:net';
import type { Torrent, Wire } from 'webtorrent';

/**
 * The TCP socket under a wire: webtorrent keeps it on the swarm's peer object (`torrent._peers`), not
 * on the wire. Undefined for web seeds and for a wire whose peer is already gone.
 */
export function socketOf(torrent: Torrent, wire: Wire): Socket | undefined {
  const peers = (torrent as unknown as { _peers?: Map<string, { wire?: Wire; conn?: unknown }> })._peers;
  for (const p of peers?.values() ?? []) if (p.wire === wire) return p.conn as Socket | undefined;
  return undefined;
}
