import { EventEmitter } from 'node:events';
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import parseTorrent, { type ParsedTorrent } from 'parse-torrent';
import type WebTorrent from 'webtorrent';
import type { Torrent, Wire } from 'webtorrent';
import { destroyClient, startClient } from './client.js';
import { SeederError, SeederErrorCode, abortError, type Logger } from './errors.js';
import { DEFAULT_SUPER_SEED_SLOTS, SuperSeeder } from './super-seed.js';
import {
  fastPieces,
  PIECE_CACHE_BYTES,
  readPiecesDirectly,
  SEEDER_PIECE_CACHE_BYTES,
  type PieceIo,
} from './piece-store.js';
import { RequestServer } from './serve.js';
import { socketOf } from './socket.js';
import { chooseTrackers, DEFAULT_TRACKER_FALLBACK_MS, TrackerFallback } from './trackers.js';
import { UploadLimiter, type LimitedWire } from './upload-limit.js';
import { UploadQueue } from './upload-queue.js';
import { WireTracker, type PeerBytes } from './wires.js';

/** The server seeder's BitTorrent port (the conventional first BitTorrent port). @default 6881 */
export const DEFAULT_SEEDER_PORT = 6881;
/** Connections the server's seeder keeps open: a whole room at once. @default 200 */
export const DEFAULT_SEEDER_MAX_CONNS = 200;

/** Options of {@link startSeeder}. */
export interface SeederOptions {
  /** Each torrent with the folder that IS its content (seeded in place, nothing copied). */
  torrents: { torrent: Uint8Array; dir: string }[];
  /** TCP peer port; 0 = any free port (read it back from `seeder.port`). @default DEFAULT_SEEDER_PORT (6881) */
  port?: number;
  /** Listen on this address only. @default every address */
  host?: string;
  /** Announce URLs added to those in the torrent files (our tracker, external ones). @default [] */
  announce?: string[];
  /** BEP 14 local service discovery (multicast on the LAN). @default false */
  lsd?: boolean;
  /** BEP 11 peer exchange. @default true */
  pex?: boolean;
  /** Trust the files (e.g. hashes just came from the hash cache) and skip reading them to verify. @default false */
  skipVerify?: boolean;
  /**
   * Upload cap in bytes/s for the whole seeder, so the boot server's link stays usable; the same cap
   * as {@link Seeder.setUploadLimit} (this package's limiter, which keeps connections on the fast
   * path; webtorrent's throttle groups would take them off it). @default unlimited
   */
  uploadLimit?: number;
  /**
   * Super-seeding (BEP 16 in spirit, see `super-seed.ts`): peers are shown a few pieces at a time, the
   * rarest first, so the server sends each piece about once and the machines pass pieces on to each
   * other. Measured on 16 machines: the server uploads ~1.1× the image instead of ~3.5×, and the room
   * boots sooner. `false` shows every peer every piece (a plain seed).
   * @default true
   */
  superSeed?: boolean;
  /** With `superSeed`: pieces in flight at once, handed out round robin. @default DEFAULT_SUPER_SEED_SLOTS (4) */
  superSeedSlots?: number;
  /**
   * Upload whole pieces first come first served instead of every request at once (see
   * `upload-queue.ts`; needs `net.ipv4.tcp_notsent_lowat` to matter). @default true
   */
  uploadQueue?: boolean;
  /** Maximum peer connections. @default DEFAULT_SEEDER_MAX_CONNS (200) */
  maxConns?: number;
  /**
   * The data path of this package (fast-wire.ts, piece-store.ts: sockets and wires joined directly,
   * pieces read whole, buffers reused) instead of webtorrent's. `false` is for comparison only.
   * @default true
   */
  fastPath?: boolean;
  logger?: Logger;
  /** Aborting closes the seeder. */
  signal?: AbortSignal;
}

/** Upload accounting of one seeded torrent. */
export interface TorrentUploadStats {
  infoHash: string;
  name: string;
  /** total bytes uploaded, all peers */
  uploaded: number;
  /** every peer seen, with bytes; kept after it disconnects */
  peers: PeerBytes[];
  /** with `superSeed`: pieces shown (HAVEs and first-bitfield bits) and slots freed by a stalled peer */
  superSeed?: { shown: number; stalls: number };
  /**
   * with `fastPath`: REQUESTs received on direct connections; those answered from a piece the cache
   * held, and those that waited for their piece's read (serve.ts). The rest went webtorrent's way
   * (sent while choked, not held, out of range).
   */
  requests?: { received: number; fromCache: number; afterRead: number };
}
/** Per torrent, per peer uploaded bytes. */
export type SwarmUploadStats = TorrentUploadStats[];

/** Events of a {@link Seeder}. */
export interface SeederEvents {
  /** bytes were sent to a peer */
  upload: [{ infoHash: string; peer: string; bytes: number }];
  /** a peer connected */
  peer: [{ infoHash: string; peer: string }];
  /** a swarm error (the seeder keeps going) */
  error: [SeederError];
}

/** A running seeder. */
export interface Seeder {
  /** the TCP port peers connect to */
  readonly port: number;
  /** info hashes being seeded */
  readonly infoHashes: string[];
  /**
   * Seeds one more folder on the running seeder (same port, same options), checked like those given
   * at start. Resolves once it is served; an info hash already seeded is a no-op.
   */
  add(entry: { torrent: Uint8Array; dir: string }): Promise<void>;
  /** Stops seeding one torrent and drops its peers; the others go on. False if it was not seeded. */
  remove(infoHash: string): Promise<boolean>;
  stats(): SwarmUploadStats;
  /**
   * Caps what the seeder uploads, all torrents and peers together, at `bytesPerSecond` (a positive
   * number), or lifts the cap (undefined, the start). Connections keep their fast path; held blocks go
   * out oldest first. For a host whose link carries more urgent traffic for a while (the boot server's
   * phase-1).
   */
  setUploadLimit(bytesPerSecond: number | undefined): void;
  /** The cap set by {@link Seeder.setUploadLimit}, undefined when there is none. */
  readonly uploadLimit: number | undefined;
  on<E extends keyof SeederEvents>(event: E, listener: (...args: SeederEvents[E]) => void): this;
  off<E extends keyof SeederEvents>(event: E, listener: (...args: SeederEvents[E]) => void): this;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Copy of the parsed torrent whose file paths drop the torrent's name, so that with `path: dir` the
 * files are read from `dir/<file>`: the folder given is the content, whatever the torrent is named.
 * The info dictionary (and so the info hash) is untouched.
 */
function inPlace(parsed: ParsedTorrent): ParsedTorrent {
  const prefix = `${parsed.name}/`;
  const files = parsed.files.map((f) => ({
    ...f,
    path: f.path.startsWith(prefix) ? f.path.slice(prefix.length) : f.path,
  }));
  return { ...parsed, files };
}

export async function addTorrent(
  client: WebTorrent,
  parsed: ParsedTorrent,
  opts: {
    path: string;
    announce: string[];
    skipVerify?: boolean;
    /** pieces already held (webtorrent's startup bitfield): only these are verified */
    bitfield?: Uint8Array | undefined;
    uploads?: number | undefined;
    /** pieces assembled in place, read whole and pooled (piece-store.ts) @default true */
    fastPath?: boolean | undefined;
    /** whole pieces kept for serving blocks @default PIECE_CACHE_BYTES */
    pieceCacheBytes?: number | undefined;
    /** how verified pieces are written (piece-store.ts) @default 'async' */
    pieceIo?: PieceIo | undefined;
    /** called with the torrent at once, before any wire can connect */
    onAdd?: (t: Torrent) => void;
  },
): Promise<Torrent> {
  const announce = [...new Set(opts.announce)].filter((a) => !parsed.announce.includes(a));
  return new Promise((resolveP, reject) => {
    const t = client.add(parsed, {
      path: opts.path,
      announce,
      skipVerify: opts.skipVerify ?? false,
      ...(opts.bitfield ? { bitfield: opts.bitfield } : {}),
      ...(opts.uploads !== undefined ? { uploads: opts.uploads } : {}),
      alwaysChokeSeeders: true,
    });
    // Nagle off on every peer connection: webtorrent leaves it on, and a small message (INTERESTED,
    // REQUEST, HAVE) written while an earlier one is unacknowledged then waits for the peer's delayed
    // ACK, ~40 ms on Linux. Measured on loopback: INTERESTED → UNCHOKE and each early REQUEST took
    // 45 ms, 2 ms without Nagle, and 64 MiB from one seeder took 1.6-1.8 s instead of 0.7 s
    // (docs/performance.md, "Session 3").
    t.on('wire', (wire: Wire) => {
      if (wire.type !== 'tcpIncoming' && wire.type !== 'tcpOutgoing') return;
      socketOf(t, wire)?.setNoDelay(true);
    });
    // the store and the pieces exist now, and nothing has been read or received yet
    if (opts.fastPath ?? true)
      t.once('metadata', () => {
        readPiecesDirectly(t, opts.pieceCacheBytes ?? PIECE_CACHE_BYTES, opts.pieceIo ?? 'async');
        fastPieces(t);
      });
    opts.onAdd?.(t);
    const onError = (err: unknown): void =>
      reject(
        new SeederError(SeederErrorCode.Swarm, `torrent ${parsed.name}: ${String(err)}`, { cause: err }),
      );
    t.once('error', onError);
    t.once('ready', () => {
      t.off('error', onError);
      resolveP(t);
    });
  });
}

/**
 * Skips webtorrent's request scheduler while the torrent holds every piece. webtorrent runs it over
 * every connection on each BITFIELD, HAVE and UNCHOKE of every peer, to find blocks to ask for; a
 * seed has none (its `_updateWire` ends without a request), so for the server's seeder that is
 * connections × pieces × machines calls for nothing: ~12 ms of a 5 s run at 2 machines in the swarm
 * benchmark at 1 Gbit/s, growing with the square of the room (tools/bench/swarm/NOTES.md, session 7).
 */
function idleWhenDone(torrent: Torrent): void {
  const t = torrent as unknown as { done: boolean; _update(): void };
  const update = t._update.bind(t);
  t._update = () => {
    if (!t.done) update();
  };
}

/**
 * Every file must exist with its torrent length before seeding: cheap, and it stops `skipVerify` from
 * serving a half-copied folder (webtorrent would create missing files and serve zeros as verified data).
 */
async function checkSizes(dir: string, parsed: ParsedTorrent): Promise<void> {
  for (const f of inPlace(parsed).files) {
    const st = await stat(join(dir, f.path)).catch(() => null);
    if (!st?.isFile() || st.size !== f.length) {
      throw new SeederError(
        SeederErrorCode.BadFolder,
        `${join(dir, f.path)}: ${st ? `${st.size} bytes, the torrent says ${f.length}` : 'missing'}`,
        { hint: `rebuild the torrent for ${dir}` },
      );
    }
  }
}

export async function parse(torrent: Uint8Array): Promise<ParsedTorrent> {
  try {
    return await parseTorrent(Buffer.from(torrent));
  } catch (cause) {
    throw new SeederError(SeederErrorCode.BadTorrent, `invalid .torrent data: ${String(cause)}`, { cause });
  }
}

/**
 * The server's seeder: serves each OS folder in place on one TCP port, DHT off, announcing to our
 * tracker; every interested peer is unchoked (a LAN room is cooperative), and by default it super-seeds
 * (`superSeed`, see super-seed.ts). Resolves once listening with every torrent checked (or trusted with
 * `skipVerify`).
 */
export async function startSeeder(opts: SeederOptions): Promise<Seeder> {
  if (opts.signal?.aborted) throw abortError(opts.signal, 'startSeeder');
  const slots = opts.superSeedSlots ?? DEFAULT_SUPER_SEED_SLOTS;
  if (!Number.isInteger(slots) || slots < 1) {
    throw new SeederError(SeederErrorCode.BadOption, `superSeedSlots: ${slots} is not a positive integer`, {
      hint: `use e.g. ${DEFAULT_SUPER_SEED_SLOTS}`,
    });
  }
  const parsed = await Promise.all(opts.torrents.map((t) => parse(t.torrent)));
  const maxConns = opts.maxConns ?? DEFAULT_SEEDER_MAX_CONNS;
  const client = await startClient({
    role: 'server',
    port: opts.port ?? DEFAULT_SEEDER_PORT,
    host: opts.host,
    lsd: opts.lsd ?? false,
    pex: opts.pex ?? true,
    maxConns,
    fastWire: opts.fastPath ?? true,
    logger: opts.logger,
  });
  const events = new EventEmitter();
  events.on('error', () => {}); // 'error' is informative here; never crash the host process
  const swarms: {
    torrent: Torrent;
    wires: WireTracker;
    superSeeder?: SuperSeeder | undefined;
    queue?: UploadQueue | undefined;
    trackerFallback?: TrackerFallback | undefined;
    server?: RequestServer | undefined;
  }[] = [];
  const superSeeders: SuperSeeder[] = [];
  const uploadQueues: UploadQueue[] = [];
  const limiter = new UploadLimiter();
  if (opts.uploadLimit !== undefined) {
    if (!(Number.isFinite(opts.uploadLimit) && opts.uploadLimit > 0))
      throw new SeederError(
        SeederErrorCode.BadOption,
        `uploadLimit: ${String(opts.uploadLimit)} is not a positive number of bytes per second`,
        { hint: 'leave it out for no limit' },
      );
    limiter.set(opts.uploadLimit);
  }
  let closed: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      opts.signal?.removeEventListener('abort', onAbort);
      events.removeAllListeners();
      for (const s of superSeeders) s.destroy();
      for (const q of uploadQueues) q.destroy();
      limiter.destroy();
      for (const s of swarms) s.trackerFallback?.stop();
      await destroyClient(client);
    })();
    return closed;
  };
  const onAbort = (): void => void close();
  const seed = async (p: ParsedTorrent, folder: string): Promise<void> => {
    const dir = resolve(folder);
    await checkSizes(dir, p);
    let superSeeder: SuperSeeder | undefined;
    let queue: UploadQueue | undefined;
    let trackerFallback: TrackerFallback | undefined;
    let server: RequestServer | undefined;
    // One announce per tracker host, as the downloader does (trackers.ts): a tracker listed as UDP and
    // HTTP was announced to twice every interval, the HTTP one through Node's fetch, whose parser is
    // WebAssembly that V8 compiled again while serving (~0.08 CPU-s of a 5 s run, see the swarm NOTES).
    const trackers = chooseTrackers([...p.announce, ...(opts.announce ?? [])]);
    const torrent = await addTorrent(
      client,
      { ...inPlace(p), announce: trackers.primary },
      {
        // Wraps each wire before its first bitfield, so it must see every wire.
        onAdd: (t) => {
          if (opts.superSeed ?? true) {
            const layout = { count: p.pieces.length, length: p.pieceLength, lastLength: p.lastPieceLength };
            superSeeder = new SuperSeeder(t, layout, {
              slots,
              logger: opts.logger,
              // the peer asks for a piece as soon as it is shown: read it meanwhile
              onShow: (i) => server?.prefetch(i),
            });
            superSeeders.push(superSeeder);
          }
          // after the super-seeder: it then counts a piece as sent when the queue really sends it
          if (opts.uploadQueue ?? true) uploadQueues.push((queue = new UploadQueue(t)));
          // requests answered from the piece cache; the super-seeder hears of each, as of a 'request'
          if (opts.fastPath ?? true) server = new RequestServer(t, (w) => superSeeder?.requested(w));
          // before the torrent can announce, so that no tracker answer is missed
          trackerFallback = new TrackerFallback(t, {
            urls: trackers.fallback,
            afterMs: DEFAULT_TRACKER_FALLBACK_MS,
            infoHash: p.infoHash,
            peerId: client.peerId,
            port: client.torrentPort,
            logger: opts.logger,
          });
        },
        path: dir,
        announce: [],
        skipVerify: opts.skipVerify ?? false,
        uploads: maxConns,
        fastPath: opts.fastPath ?? true,
        pieceCacheBytes: SEEDER_PIECE_CACHE_BYTES,
      },
    );
    if (!torrent.done) {
      trackerFallback?.stop();
      await new Promise<void>((r) => torrent.destroy({ destroyStore: false }, () => r()));
      throw new SeederError(
        SeederErrorCode.BadFolder,
        `${dir} does not match torrent ${p.name} (${p.infoHash}): ${Math.round(torrent.progress * 100)}% of the pieces verified`,
      );
    }
    idleWhenDone(torrent);
    const wires = new WireTracker(torrent, {
      lanTuning: true,
      logger: opts.logger,
      selfPort: () => client.torrentPort,
      selfPeerId: () => client.peerId,
    });
    torrent.on(
      'wire',
      (wire: {
        remoteAddress?: string;
        remotePort?: number;
        on(e: 'upload', l: (n: number) => void): void;
      }) => {
        // after the upload queue and the super-seeder: a held block has reached neither
        limiter.attach(wire as unknown as LimitedWire);
        const peer = `${wire.remoteAddress}:${wire.remotePort}`;
        events.emit('peer', { infoHash: p.infoHash, peer });
        wire.on('upload', (bytes) => {
          if (events.listenerCount('upload') > 0)
            events.emit('upload', { infoHash: p.infoHash, peer, bytes });
        });
      },
    );
    torrent.on('error', (err: unknown) =>
      events.emit(
        'error',
        new SeederError(SeederErrorCode.Swarm, `${p.name}: ${String(err)}`, { cause: err }),
      ),
    );
    swarms.push({ torrent, wires, superSeeder, queue, trackerFallback, server });
  };
  try {
    for (const [i, p] of parsed.entries()) await seed(p, opts.torrents[i]!.dir);
  } catch (err) {
    await close();
    throw err;
  }
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  if (opts.signal?.aborted) await close();

  const handle: Seeder = {
    get port() {
      return client.torrentPort;
    },
    get infoHashes() {
      return swarms.map((s) => s.torrent.infoHash);
    },
    async add(entry) {
      if (closed) throw new SeederError(SeederErrorCode.Aborted, 'seeder closed: cannot add a torrent');
      const p = await parse(entry.torrent);
      if (swarms.some((s) => s.torrent.infoHash === p.infoHash)) return;
      await seed(p, entry.dir);
    },
    async remove(infoHash) {
      const i = swarms.findIndex((s) => s.torrent.infoHash === infoHash.toLowerCase());
      if (i < 0 || closed) return false;
      const [s] = swarms.splice(i, 1);
      s!.superSeeder?.destroy();
      s!.queue?.destroy();
      s!.trackerFallback?.stop();
      // Keeps the files: they are the OS folder, seeded in place.
      await new Promise<void>((r) => s!.torrent.destroy({ destroyStore: false }, () => r()));
      return true;
    },
    get uploadLimit() {
      return limiter.limit;
    },
    setUploadLimit(bytesPerSecond) {
      if (bytesPerSecond !== undefined && !(Number.isFinite(bytesPerSecond) && bytesPerSecond > 0))
        throw new SeederError(
          SeederErrorCode.BadOption,
          `upload limit: ${String(bytesPerSecond)} is not a positive number of bytes per second`,
          { hint: 'pass undefined to lift the limit' },
        );
      limiter.set(bytesPerSecond);
    },
    stats: () =>
      swarms.map(({ torrent, wires, superSeeder, server }) => ({
        infoHash: torrent.infoHash,
        name: torrent.name,
        uploaded: wires.uploaded,
        peers: wires.list(),
        ...(superSeeder ? { superSeed: { shown: superSeeder.shownTotal, stalls: superSeeder.stalls } } : {}),
        ...(server
          ? {
              requests: {
                received: server.received,
                fromCache: server.fromCache,
                afterRead: server.afterRead,
              },
            }
          : {}),
      })),
    on(event, listener) {
      events.on(event, listener as (...a: unknown[]) => void);
      return handle;
    },
    off(event, listener) {
      events.off(event, listener as (...a: unknown[]) => void);
      return handle;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
  return handle;
}
