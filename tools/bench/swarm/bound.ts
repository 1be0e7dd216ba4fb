// The minimum distribution time of a file of F bytes from one server to N peers (Kumar and Ross, "Peer-
// assisted file distribution: the minimum distribution time", IEEE HotWeb 2006):
//
//   T_min = max(F / u_s, F / d_min, N·F / (u_s + Σ u_i))
//
// F / u_s: the server must send every bit at least once. F / d_min: the slowest downloader must receive
// every bit. N·F / (u_s + Σ u_i): N·F bits must be uploaded in total, by the server and the peers. The
// bound counts payload only; on the wire TCP/IP and BitTorrent framing add a few per cent.

export interface BoundInput {
  /** File size, bytes. */
  fileBytes: number;
  clients: number;
  /** Server upload, bit/s. */
  serverUpBps: number;
  /** Upload of each client, bit/s. */
  clientUpBps: number;
  /** Download of each client, bit/s (d_min, all clients are alike here). */
  clientDownBps: number;
}

/** Kumar–Ross lower bound, seconds, with the term that dominates. */
export function kumarRossBound(b: BoundInput): { seconds: number; limit: 'server' | 'download' | 'total' } {
  const bits = b.fileBytes * 8;
  const server = bits / b.serverUpBps;
  const download = bits / b.clientDownBps;
  const total = (b.clients * bits) / (b.serverUpBps + b.clients * b.clientUpBps);
  const seconds = Math.max(server, download, total);
  const limit =
    seconds === total && total > download && total > server
      ? 'total'
      : seconds === server
        ? 'server'
        : 'download';
  return { seconds, limit };
}

/** The client–server time: the server uploads N copies (the clients are not the limit). */
export function clientServerTime(b: BoundInput): number {
  const bits = b.fileBytes * 8;
  return Math.max((b.clients * bits) / b.serverUpBps, bits / b.clientDownBps);
}
