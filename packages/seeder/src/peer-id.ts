/**
 * Peer-ID prefixes (Azureus style, BEP 20): S = the server's seeder, A = an agent downloading.
 * Version 0.1.1 (`0110`) serves REQUESTs of up to {@link MAX_SPAN_BYTES} to peers of the same version
 * (span-request.ts); 0.1.0 (`0100`) served at most 128 KiB, as webtorrent does.
 */
export const PEER_ID_PREFIX = { server: '-BS0110-', agent: '-BA0110-' } as const;

/** The prefixes of the previous version: BootTorrent peers that serve 128 KiB requests at most. */
const PREVIOUS = { server: '-BS0100-', agent: '-BA0100-' } as const;

/**
 * The largest REQUEST a BootTorrent peer of this version sends to and serves for another one: a whole
 * piece of the largest `'auto'` length. One request, one PIECE and one callback per piece instead of
 * one per 128 KiB (see span-request.ts).
 * @default 4 MiB
 */
export const MAX_SPAN_BYTES = 4 * 1024 * 1024;

/** A prefix as the first 16 characters of a hex peer id (webtorrent keeps peer ids as lowercase hex). */
const hexOf = (prefix: string): string => Buffer.from(prefix, 'latin1').toString('hex');
const SERVER_HEX = [hexOf(PEER_ID_PREFIX.server), hexOf(PREVIOUS.server)];
const CURRENT_HEX = [hexOf(PEER_ID_PREFIX.server), hexOf(PEER_ID_PREFIX.agent)];
const ANY_HEX = [...CURRENT_HEX, hexOf(PREVIOUS.server), hexOf(PREVIOUS.agent)];

/**
 * The first 8 bytes of a hex peer id, as lowercase hex. Compared as hex, not decoded: the picker asks
 * this of every connection on every update, and decoding allocated a buffer and a string each time
 * (1.5 % of a client's JavaScript time at 16 machines; tools/bench/swarm/NOTES.md, session 15).
 */
const headOf = (hex: string | undefined): string =>
  hex && hex.length >= 16 ? hex.slice(0, 16).toLowerCase() : '';

/** hex peer id → does it carry our server prefix (this version's or the previous one's)? */
export function isServerPeerId(hex: string | undefined): boolean {
  return SERVER_HEX.includes(headOf(hex));
}

/** hex peer id → is it a BootTorrent seeder's or agent's (this version's or the previous one's)? */
export function isBootTorrentPeerId(hex: string | undefined): boolean {
  return ANY_HEX.includes(headOf(hex));
}

/** hex peer id → does that peer send and serve REQUESTs of up to {@link MAX_SPAN_BYTES} (this version's)? */
export function takesWholePieces(hex: string | undefined): boolean {
  return CURRENT_HEX.includes(headOf(hex));
}
