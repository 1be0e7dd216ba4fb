import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ParsedTorrent } from 'parse-torrent';
import type { Torrent, Wire } from 'webtorrent';
import { destroyClient, startClient } from './client.js';
import { SeederError, SeederErrorCode, abortError, type Logger } from './errors.js';
import { installPicker } from './picker.js';
import type { PieceIo } from './piece-store.js';
import { RequestServer } from './serve.js';
import { addTorrent, parse } from './seeder.js';
import { chooseTrackers, DEFAULT_TRACKER_FALLBACK_MS, TrackerFallback } from './trackers.js';
import { UploadQueue } from './upload-queue.js';
import { WebSeedFallback } from './webseed.js';
import { WireTracker } from './wires.js';

/** Web seed fallback delay: no verified progress for this long adds the HTTP web seed. @default 5000 ms */
export const DEFAULT_WEB_SEED_AFTER_MS = 5000;
/** Peer connections of one downloading machine. @default 55 */
export const DEFAULT_DOWNLOAD_MAX_CONNS = 55;
/** How often `onProgress` fires while bytes move. @default 250 ms */
export const PROGRESS_INTERVAL_MS = 250;

/**
 * With `lanTuning`, webtorrent's request scheduler (every wire × every piece) runs at most this often:
 * it otherwise runs on every 16 KiB block received, and was the largest share of a client's CPU at 16
 * machines (docs/performance.md, "## swarm", item 5). Request queues hold ~0.5 s, so a few ms of delay
 * never empties one.
 */
export const UPDATE_INTERVAL_MS = 20;

/** Coalesces calls of webtorrent's `_update()`: runs at once, then at most every `ms` (trailing call kept). */
function throttleUpdates(torrent: Torrent, ms: number): void {
  const t = torrent as unknown as { _update(): void; destroyed: boolean };
  const raw = t._update.bind(t);
  let last = 0;
  let timer: ReturnType<typeof setTimeout> | null = null;
  t._update = () => {
    if (timer) return;
    const wait = last + ms - Date.now();
    if (wait <= 0) {
      last = Date.now();
      raw();
      return;
    }
    timer = setTimeout(() => {
      timer = null;
      last = Date.now();
      if (!t.destroyed) raw();
    }, wait);
    timer.unref();
  };
}

/** Progress of a download (and of the seeding after it); byte counts are cumulative. */
export interface DownloadProgress {
  /** verified bytes on disk */
  downloaded: number;
  total: number;
  /** receive rate, bytes/s */
  rate: number;
  /** connected peers (web seed included) */
  peers: number;
  /** bytes received from the server's seeder (see `serverPeers`) */
  fromServer: number;
  /** bytes received from other machines */
  fromPeers: number;
  /** bytes received from the BEP 19 web seed */
  fromWebSeed: number;
  uploaded: number;
  /** pieces that failed SHA-1 verification and were fetched again */
  hashFails: number;
  /** peers dropped for sending corrupt data */
  bannedPeers: number;
}

/** Options of {@link download}. */
export interface DownloadOptions {
  /** The .torrent bytes. */
  torrent: Uint8Array;
  /** Files land in `dir/<name>/...`, exactly like the OS folder on the server. Existing data is verified and resumed. */
  dir: string;
  /**
   * Announce URLs added to those in the torrent. Of a tracker listed with a `udp://` URL, only that one
   * is announced to at first; its `http(s)://` URLs are used when no tracker answered within
   * `trackerFallbackMs` (see {@link chooseTrackers}). @default []
   */
  announce?: string[];
  /** Announce to held-back HTTP tracker URLs when no tracker answered for this long. @default DEFAULT_TRACKER_FALLBACK_MS (3000) */
  trackerFallbackMs?: number;
  /** "host" or "host:port" of the server's seeder: connected directly, and its bytes counted as `fromServer`. @default [] */
  serverPeers?: string[];
  /** BEP 19 web seeds for the fallback. @default the torrent's url-list */
  webSeeds?: string[];
  /** Add the web seeds when nothing was verified for this long. @default DEFAULT_WEB_SEED_AFTER_MS (5000) */
  webSeedAfterMs?: number;
  /** TCP peer port. @default 0 (any) */
  port?: number;
  /** Listen on this address only. @default every address */
  host?: string;
  /** BEP 14 local service discovery. @default false */
  lsd?: boolean;
  /** BEP 11 peer exchange. @default true */
  pex?: boolean;
  /** Maximum peer connections. @default DEFAULT_DOWNLOAD_MAX_CONNS (55) */
  maxConns?: number;
  /** LAN tuning (every interested peer unchoked, deep request pipelines, rarest first). @default true */
  lanTuning?: boolean;
  /**
   * Upload whole pieces first come first served instead of every request at once, so a piece reaches
   * its first receivers sooner (see `upload-queue.ts`; needs `net.ipv4.tcp_notsent_lowat`, which the
   * phase-1 /init sets). @default true
   */
  uploadQueue?: boolean;
  /**
   * With `lanTuning`: ask for blocks with {@link installPicker}'s scheduler (started pieces first, then
   * rarest; linear per connection) instead of webtorrent's (quadratic in the piece count). @default true
   */
  picker?: boolean;
  /**
   * The data path of this package (fast-wire.ts, piece-store.ts: sockets and wires joined directly,
   * pieces assembled in place, read whole, buffers reused) instead of webtorrent's. `false` is for
   * comparison only. @default true
   */
  fastPath?: boolean;
  /**
   * With `fastPath`: how each verified piece is written. `'sync'`: one positioned write per file on
   * the main thread, for a folder in RAM (the agent's tmpfs: ~0.4 ms per 512 KiB); `'async'`: on
   * libuv's threads, for a folder on a disk, where a write may block (piece-store.ts says what
   * `'sync'` saves). @default 'sync'
   */
  pieceIo?: PieceIo;
  logger?: Logger;
  signal?: AbortSignal;
  onProgress?: (p: DownloadProgress) => void;
}

/** A finished download, still seeding to the swarm until closed. */
export interface Download {
  /** the folder holding the OS files: `dir/<name>` */
  dir: string;
  infoHash: string;
  files: { path: string; length: number }[];
  /** the TCP port other peers reach this one on */
  port: number;
  stats(): DownloadProgress;
  /** Keep seeding for `seconds` (the agent's seed_time), then resolve with the totals. Does not close. */
  seedFor(
    seconds: number,
    opts?: {
      signal?: AbortSignal;
      onProgress?: (p: DownloadProgress & { remainingSeconds: number }) => void;
    },
  ): Promise<DownloadProgress>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

function relFiles(p: ParsedTorrent): { path: string; length: number }[] {
  const prefix = `${p.name}/`;
  return p.files.map((f) => ({
    path: (f.path.startsWith(prefix) ? f.path.slice(prefix.length) : f.path).split('\\').join('/'),
    length: f.length,
  }));
}

/**
 * True when none of the torrent's files is on disk under `root`. Then there is nothing to verify, and
 * an empty startup bitfield spares webtorrent a read of every piece: 512 failed reads per machine, all
 * at once when a room boots (measured in docs/performance.md, "Session 3").
 */
async function nothingOnDisk(root: string, parsed: ParsedTorrent): Promise<boolean> {
  const found = await Promise.all(
    parsed.files.map((f) =>
      stat(join(root, f.path)).then(
        () => true,
        () => false,
      ),
    ),
  );
  return !found.includes(true);
}

/** Options of {@link PreparedDownload.start}; each one given replaces the one given to {@link prepareDownload}. */
export interface StartOptions {
  signal?: AbortSignal;
  onProgress?: (p: DownloadProgress) => void;
}

/**
 * A download made ready by {@link prepareDownload}: listening, the torrent parsed and added, its piece
 * store open, and (with `connect`) announced and connected to the server's seeder and the peers, with
 * nothing asked for yet.
 */
export interface PreparedDownload {
  infoHash: string;
  /** the TCP port other peers reach this one on */
  port: number;
  /** Starts asking for pieces; resolves like {@link download}. Once only; after `close()` it rejects. */
  start(opts?: StartOptions): Promise<Download>;
  /** Closes everything (the user chose another OS); idempotent. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options of {@link prepareDownload}. */
export interface PrepareOptions extends DownloadOptions {
  /**
   * Announce to the trackers and connect to the server's seeder and the peers while prepared (the
   * handshakes, bitfields, extension handshakes and INTERESTED done before `start()`), asking for
   * nothing, so no piece is sent to us before `start()`. `false`: nothing leaves the machine before
   * `start()`. @default true
   */
  connect?: boolean;
}

/**
 * Holds back every request of `torrent` until the returned release() runs: webtorrent's request
 * scheduler does nothing while held. Interest is not held: a prepared download tells the peers that
 * hold pieces it lacks that it is interested (BEP 3 INTERESTED), so they unchoke it before it asks,
 * and its first REQUESTs at start() are answered one round trip later instead of two (measured in
 * tools/bench/swarm/NOTES.md, session 13). A peer sends nothing on interest alone.
 */
function holdRequests(torrent: Torrent): () => void {
  const t = torrent as unknown as { _update(): void; destroyed: boolean };
  // the gate sits at the bottom: throttleUpdates and the picker wrap `_update` later and stay in place
  let held = true;
  const update = t._update.bind(t);
  t._update = () => {
    if (!held) update();
  };
  return () => {
    if (!held) return;
    held = false;
    if (!t.destroyed) t._update();
  };
}

/**
 * Downloads a torrent into `dir/<name>` from the server's seeder and the other machines, resolving when
 * every piece is verified (SHA-1, BEP 3). It then keeps seeding until `close()`; `seedFor()` waits.
 * Same as `(await prepareDownload(opts)).start()`.
 */
export async function download(opts: DownloadOptions): Promise<Download> {
  const prepared = await prepareDownload({ ...opts, connect: true });
  return prepared.start();
}

/**
 * Does every step of {@link download} that does not need the user's choice, so that `start()` only
 * has to ask for pieces: the agent prepares the preselected OS during the menu's countdown. What it
 * does before `start()`: listen, parse the torrent, add it (files and piece store opened, existing
 * data verified), and with `connect` announce and connect to the server's seeder and the peers
 * without asking for anything. `close()` undoes all of it when the user picks another OS.
 */
export async function prepareDownload(opts: PrepareOptions): Promise<PreparedDownload> {
  const { signal } = opts;
  if (signal?.aborted) throw abortError(signal, 'download');
  for (const [key, value] of [
    ['webSeedAfterMs', opts.webSeedAfterMs],
    ['trackerFallbackMs', opts.trackerFallbackMs],
  ] as const) {
    if (value !== undefined && !(Number.isFinite(value) && value >= 0))
      throw new SeederError(SeederErrorCode.BadOption, `${key}: ${value} is not a delay in ms`, {
        hint: 'use a number >= 0',
      });
  }
  const connect = opts.connect ?? true;
  const parsed = await parse(opts.torrent);
  const webSeeds = opts.webSeeds ?? parsed.urlList;
  const lanTuning = opts.lanTuning ?? true;
  const maxConns = opts.maxConns ?? DEFAULT_DOWNLOAD_MAX_CONNS;
  const client = await startClient({
    role: 'agent',
    port: opts.port ?? 0,
    host: opts.host,
    lsd: opts.lsd ?? false,
    pex: opts.pex ?? true,
    maxConns,
    fastWire: opts.fastPath ?? true,
    logger: opts.logger,
  });
  let closing: Promise<void> | null = null;
  let ticker: NodeJS.Timeout | undefined;
  let fallback: WebSeedFallback | undefined;
  let uploadQueue: UploadQueue | undefined;
  let trackerFallback: TrackerFallback | undefined;
  let startDiscovery: (() => void) | undefined;
  let release: (() => void) | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      clearInterval(ticker);
      fallback?.stop();
      trackerFallback?.stop();
      uploadQueue?.destroy();
      await destroyClient(client);
    })();
    return closing;
  };
  // aborted while prepared or starting: close (after start() resolved, the Download's own listener)
  let started = false;
  const onPrepareAbort = (): void => {
    if (!started) void close();
  };
  signal?.addEventListener('abort', onPrepareAbort, { once: true });

  const debug = opts.logger?.debug?.bind(opts.logger);
  debug?.('download: listening', { port: client.torrentPort });
  const fresh = await nothingOnDisk(resolve(opts.dir), parsed);
  const trackers = chooseTrackers([...parsed.announce, ...(opts.announce ?? [])]);
  const torrentP = addTorrent(
    client,
    { ...parsed, announce: trackers.primary, urlList: [] },
    {
      path: resolve(opts.dir),
      bitfield: fresh ? new Uint8Array(Math.ceil(parsed.pieces.length / 8)) : undefined,
      announce: [],
      uploads: lanTuning ? maxConns : undefined,
      fastPath: opts.fastPath ?? true,
      pieceIo: opts.pieceIo ?? 'sync',
      onAdd: (t) => {
        // nothing asked for before start(); without `connect`, no announce either (webtorrent starts
        // its discovery when the store is ready)
        release = holdRequests(t);
        if (!connect) {
          const d = t as unknown as { _startDiscovery(): void };
          const run = d._startDiscovery.bind(d);
          d._startDiscovery = () => {};
          startDiscovery = () => {
            d._startDiscovery = run;
            run();
          };
        }
        // milestones of the start for a caller's debug log (the swarm benchmark's timeline)
        if (debug) {
          t.once('trackerAnnounce', () => debug('download: tracker answered'));
          t.on('wire', (w: Wire) => {
            const peer = `${w.remoteAddress}:${w.remotePort}`;
            debug('download: peer connected', { peer, type: w.type });
            w.once('download', () => debug('download: first block', { peer }));
          });
        }
        if (opts.uploadQueue ?? true) uploadQueue = new UploadQueue(t);
        // peers' requests answered from the piece cache at once (serve.ts)
        if (opts.fastPath ?? true) new RequestServer(t);
        // before the torrent can announce, so that no tracker answer is missed
        trackerFallback = new TrackerFallback(t, {
          urls: trackers.fallback,
          afterMs: opts.trackerFallbackMs ?? DEFAULT_TRACKER_FALLBACK_MS,
          infoHash: parsed.infoHash,
          peerId: client.peerId,
          port: client.torrentPort,
          logger: opts.logger,
        });
      },
    },
  );
  const torrent = await torrentP.catch(async (err: unknown) => {
    signal?.removeEventListener('abort', onPrepareAbort);
    await close();
    throw err;
  });
  debug?.('download: torrent ready');
  const wires = new WireTracker(torrent, {
    serverPeers: opts.serverPeers,
    lanTuning,
    logger: opts.logger,
    selfPort: () => client.torrentPort,
    selfPeerId: () => client.peerId,
  });
  if (lanTuning) {
    (torrent as unknown as { strategy: string }).strategy = 'rarest';
    throttleUpdates(torrent, UPDATE_INTERVAL_MS);
    if (opts.picker ?? true) installPicker(torrent);
  }
  let lastVerified = 0;
  const stats = (): DownloadProgress => ({
    downloaded: torrent.destroyed ? lastVerified : (lastVerified = wires.verifiedBytes()),
    total: parsed.length,
    rate: torrent.destroyed ? 0 : torrent.downloadSpeed,
    peers: torrent.destroyed ? 0 : torrent.wires.length,
    fromServer: wires.fromServer,
    fromPeers: wires.fromPeers,
    fromWebSeed: wires.fromWebSeed,
    uploaded: wires.uploaded,
    hashFails: wires.hashFails,
    bannedPeers: new Set([...wires.banned].filter((b) => b.includes(':'))).size,
  });
  const dialServers = (): void => {
    for (const s of opts.serverPeers ?? []) if (/:\d+$/.test(s)) torrent.addPeer(s);
  };
  if (connect) dialServers();
  if (signal?.aborted) {
    await close();
    throw abortError(signal, 'download');
  }

  const start = async (so: StartOptions = {}): Promise<Download> => {
    if (closing) throw new SeederError(SeederErrorCode.Closed, 'start() after close()');
    if (started) throw new SeederError(SeederErrorCode.Closed, 'start() called twice');
    started = true;
    signal?.removeEventListener('abort', onPrepareAbort);
    const sig = so.signal ?? signal;
    const onProgress = so.onProgress ?? opts.onProgress;
    if (sig?.aborted) {
      await close();
      throw abortError(sig, 'download');
    }
    release?.();
    if (startDiscovery) {
      startDiscovery();
      dialServers();
    }
    try {
      await new Promise<void>((resolveP, reject) => {
        const onAbort = (): void => reject(abortError(sig, 'download'));
        sig?.addEventListener('abort', onAbort, { once: true });
        const finish = (): void => {
          sig?.removeEventListener('abort', onAbort);
          resolveP();
        };
        torrent.on('error', (err: unknown) =>
          reject(
            new SeederError(SeederErrorCode.Swarm, `download ${parsed.name}: ${String(err)}`, { cause: err }),
          ),
        );
        if (torrent.done) return finish();
        torrent.once('done', finish);
        fallback = new WebSeedFallback(torrent, {
          urls: webSeeds,
          afterMs: opts.webSeedAfterMs ?? DEFAULT_WEB_SEED_AFTER_MS,
          singleFile: parsed.files.length === 1 ? `${parsed.name}/${relFiles(parsed)[0]!.path}` : undefined,
          progress: () => [wires.verifiedBytes(), wires.fromServer + wires.fromPeers],
          logger: opts.logger,
        });
        ticker = setInterval(() => {
          // Heartbeat: webtorrent only asks a wire for blocks on wire events. A peer whose bitfield and
          // unchoke arrive in the same packet as its handshake fires them before webtorrent listens, and
          // that wire is never asked for anything (measured: every other run with an eager peer stalled).
          (torrent as unknown as { _update(): void })._update();
          onProgress?.(stats());
        }, PROGRESS_INTERVAL_MS);
      });
    } catch (err) {
      await close();
      throw err;
    }
    clearInterval(ticker);
    fallback?.stop();
    onProgress?.(stats());
    sig?.addEventListener('abort', () => void close(), { once: true });
    return {
      dir: join(resolve(opts.dir), parsed.name),
      infoHash: parsed.infoHash,
      files: relFiles(parsed),
      get port() {
        return client.torrentPort;
      },
      stats,
      seedFor: (seconds, so = {}) =>
        new Promise<DownloadProgress>((resolveP, reject) => {
          if (closing) return reject(new SeederError(SeederErrorCode.Closed, 'seedFor() after close()'));
          const end = Date.now() + seconds * 1000;
          const tick = (): void =>
            so.onProgress?.({
              ...stats(),
              remainingSeconds: Math.max(0, Math.ceil((end - Date.now()) / 1000)),
            });
          const iv = setInterval(tick, PROGRESS_INTERVAL_MS);
          const done = (): void => {
            clearInterval(iv);
            clearTimeout(t);
            so.signal?.removeEventListener('abort', onAbort);
            tick();
            resolveP(stats());
          };
          const t = setTimeout(done, seconds * 1000);
          const onAbort = (): void => {
            clearInterval(iv);
            clearTimeout(t);
            reject(abortError(so.signal, 'seedFor'));
          };
          if (so.signal?.aborted) return onAbort();
          so.signal?.addEventListener('abort', onAbort, { once: true });
        }),
      close,
      [Symbol.asyncDispose]: close,
    };
  };

  return {
    infoHash: parsed.infoHash,
    get port() {
      return client.torrentPort;
    },
    start,
    close,
    [Symbol.asyncDispose]: close,
  };
}
