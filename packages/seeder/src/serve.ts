import type { Torrent, Wire } from 'webtorrent';
import { lendView } from './buffer-pool.js';
import { MAX_SPAN_BYTES, takesWholePieces } from './peer-id.js';
import { PieceReader } from './piece-store.js';

/**
 * The largest REQUEST answered here for most peers: webtorrent's MAX_BLOCK_LENGTH (it closes the
 * connection of a peer asking for more, and so does the library path this leaves such a request to).
 * BootTorrent peers of the previous version ask for up to 128 KiB at once (fast-wire.ts,
 * span-request.ts), others for 16 KiB; this version's peers for up to `MAX_SPAN_BYTES` (peer-id.ts),
 * served here.
 * @default 128 KiB
 */
export const MAX_SERVED_REQUEST_BYTES = 128 * 1024;

/** A request waiting for its piece, in the wire's `peerRequests` as the library keeps its own. */
interface PeerRequest {
  piece: number;
  offset: number;
  length: number;
  callback: () => void;
}

/** The parts of a bittorrent-protocol wire the serve path reads and calls (field names are that library's). */
export interface ServeWire {
  type: string;
  destroyed: boolean;
  /** the remote's peer id, hex, once its handshake arrived */
  peerId?: string | undefined;
  /** BEP 3: we are choking the peer (then the library answers, with a REJECT under BEP 6) */
  amChoking: boolean;
  hasFast: boolean;
  /**
   * requests received and not answered: a CHOKE rejects them (BEP 6), a CANCEL removes one; the
   * library's and ours alike
   */
  peerRequests: PeerRequest[];
  /** sends one PIECE message (with every wrapper on it: upload limit, upload queue, super-seeding) */
  piece(index: number, offset: number, buffer: Uint8Array): void;
  reject(index: number, offset: number, length: number): void;
  /** set by fast-wire.ts when the wire reads and writes its socket directly */
  _directSocket?: unknown;
  /** called by fast-wire.ts's parser for each REQUEST; true if taken, else the library answers it */
  _serve?: ((index: number, offset: number, length: number) => boolean) | undefined;
}

/** The parts of a webtorrent torrent the serve path reads. */
interface ServeTorrent {
  /** a piece not yet verified; null once held (webtorrent's own test before it serves a request) */
  pieces: (object | null)[];
  store?: { store?: unknown } | null;
}

const noop = (): void => {};

/**
 * Answers peers' REQUESTs from the piece cache (piece-store.ts): a request for a piece the cache
 * holds is answered in the tick it was parsed, with one `wire.piece` call on a view of the cached
 * piece, whose header and bytes fast-wire.ts writes to the socket together; the requests for a piece
 * still being read wait for that one read, together, and go out when it is done. webtorrent's path
 * for each request builds a request object and a callback, emits 'request', asks its chunk store for
 * the block (a promise per request), answers a microtask later, pulls the request back out of a list
 * and formats the PIECE header through the library's generic message code: in the swarm benchmark
 * at 1 Gbit/s that chain was most of the server's JavaScript (tools/bench/swarm/NOTES.md,
 * 2026-12-07, session 7).
 *
 * The protocol is the library's. A request that arrives while we choke the peer (BEP 6: REJECT it),
 * is longer than {@link MAX_SERVED_REQUEST_BYTES} (the library closes the connection), is for a piece
 * not held or past its end goes to the library's own `_onRequest`, as before. A request waiting for
 * its piece sits in the wire's `peerRequests` as the library's own do, so a CHOKE rejects it and a
 * CANCEL removes it; a failed read rejects it. A CANCEL of a block already answered reaches the
 * upload limiter and queue as before (they drop it if they still hold it).
 */
export class RequestServer {
  /** REQUESTs received on direct connections */
  received = 0;
  /** of those, answered from a piece the cache held */
  fromCache = 0;
  /** of those, answered once the piece was read (requests that waited for one read) */
  afterRead = 0;
  /** requests waiting for each piece being read */
  private readonly waiting = new Map<number, { wire: ServeWire; req: PeerRequest }[]>();

  /**
   * @param onServed called for each request taken here, as it is taken (the super-seeder counts a
   *   request as a sign of life: it would have seen the 'request' event)
   */
  constructor(
    private readonly torrent: Torrent,
    private readonly onServed?: (wire: Wire) => void,
  ) {
    torrent.on('wire', (wire: Wire) => this.attach(wire as unknown as ServeWire));
  }

  /** Serves the wire's requests when it is on fast-wire.ts's direct path (others keep webtorrent's). */
  attach(wire: ServeWire): void {
    if (wire.type === 'webSeed' || wire._directSocket === undefined) return;
    wire._serve = (index, offset, length) => this.serve(wire, index, offset, length);
  }

  private reader(): PieceReader | undefined {
    const store = (this.torrent as unknown as ServeTorrent).store?.store;
    return store instanceof PieceReader ? store : undefined;
  }

  /**
   * Starts reading piece `index` into the cache (if held and not there yet): the super-seeder calls
   * this when it shows a piece, so the read is done by the time the peer's REQUESTs arrive.
   */
  prefetch(index: number): void {
    if ((this.torrent as unknown as ServeTorrent).pieces[index] !== null) return;
    const reader = this.reader();
    if (!reader || reader.peek(index)) return;
    reader.load(index).catch(noop);
  }

  private serve(wire: ServeWire, index: number, offset: number, length: number): boolean {
    this.received++;
    if (wire.amChoking || length === 0) return false;
    // a span of this version's peers (up to a whole piece); anyone else asking for more than 128 KiB
    // goes to the library, which closes the connection as webtorrent does
    const span = length > MAX_SERVED_REQUEST_BYTES;
    if (span && !(length <= MAX_SPAN_BYTES && takesWholePieces(wire.peerId))) return false;
    const reader = this.reader();
    // held: null (a piece object = not verified yet; undefined = no such piece)
    if (
      (this.torrent as unknown as ServeTorrent).pieces[index] !== null ||
      !reader ||
      offset + length > reader.pieceLength(index)
    ) {
      if (!span) return false; // the library's answer
      if (wire.hasFast) wire.reject(index, offset, length); // BEP 6; without it, no answer (BEP 3)
      return true;
    }
    this.onServed?.(wire as unknown as Wire);
    const buf = reader.peek(index);
    if (buf) {
      this.fromCache++;
      wire.piece(index, offset, lendView(buf, offset, offset + length));
      return true;
    }
    const req: PeerRequest = { piece: index, offset, length, callback: noop };
    wire.peerRequests.push(req);
    let list = this.waiting.get(index);
    if (!list) {
      this.waiting.set(index, (list = []));
      // the cache's own promise: this runs before a drop from the cache can release the buffer
      reader.load(index).then(
        (piece) => this.answer(index, piece),
        () => this.answer(index, null),
      );
    }
    list.push({ wire, req });
    return true;
  }

  /** Sends the piece's waiting requests that are still wanted (or rejects them: the read failed). */
  private answer(index: number, piece: Buffer | null): void {
    const list = this.waiting.get(index) ?? [];
    this.waiting.delete(index);
    for (const { wire, req } of list) {
      if (wire.destroyed) continue;
      const at = wire.peerRequests.indexOf(req);
      if (at < 0) continue; // cancelled, or rejected by a choke
      wire.peerRequests.splice(at, 1);
      if (!piece) {
        if (wire.hasFast) wire.reject(req.piece, req.offset, req.length);
        continue;
      }
      this.afterRead++;
      wire.piece(index, req.offset, lendView(piece, req.offset, req.offset + req.length));
    }
  }
}
