import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import type { Socket } from 'node:dgram';
import { Server, type AnnounceParams, type Swarm } from 'bittorrent-tracker';
import { TrackerError, TrackerErrorCode, type Logger } from './errors.js';
import { LanSwarm, type SwarmStats } from './swarm.js';

/** The tracker port for HTTP and UDP (the conventional BitTorrent tracker port). @default 6969 */
export const DEFAULT_TRACKER_PORT = 6969;
/** Announce interval in seconds: short, so peers of a booting room find each other at once. @default 5 */
export const DEFAULT_ANNOUNCE_INTERVAL = 5;
/** A peer silent for this many announce intervals is forgotten (killed machines leave the lists). @default 6 */
export const PEER_TTL_INTERVALS = 6;

/** Options of {@link startTracker}. */
export interface TrackerOptions {
  /**
   * Address to listen on, HTTP and UDP alike. An IPv4 address (or 0.0.0.0) serves IPv4 only, an IPv6
   * address IPv6 (HTTP on `::` also takes IPv4). @default '0.0.0.0'
   */
  host?: string;
  /** Port for HTTP and UDP; 0 = any free port, each transport gets its own (see `httpPort`/`udpPort`). @default 6969 */
  port?: number;
  /** UDP tracker protocol (BEP 15). @default true */
  udp?: boolean;
  /** HTTP tracker protocol (BEP 3, BEP 23 compact). @default true */
  http?: boolean;
  /** Announce interval in seconds. @default DEFAULT_ANNOUNCE_INTERVAL (5) */
  interval?: number;
  /** Only these info hashes (hex) are tracked; others get a failure reason. @default every hash */
  whitelist?: string[] | ((infoHash: string) => boolean);
  logger?: Logger;
  /** Aborting closes the tracker. */
  signal?: AbortSignal;
}

/** Events of a {@link Tracker}. */
export interface TrackerEvents {
  /** a torrent's swarm changed (any announce) */
  update: [SwarmStats];
  /** a peer joined a swarm (`started`, or first announce) */
  peer: [{ infoHash: string; id: string; ip: string; port: number }];
  /** a malformed or refused request (the tracker keeps going) */
  warning: [Error];
}

/** A running tracker. */
export interface Tracker {
  /** HTTP port, or null when HTTP is off */
  readonly httpPort: number | null;
  /** UDP port, or null when UDP is off */
  readonly udpPort: number | null;
  /** Announce URLs for clients reaching this tracker at `host` (UDP first, then HTTP). */
  announceUrls(host: string): string[];
  /** Add an info hash (hex) to the whitelist at run time. */
  allow(infoHash: string): void;
  stats(): SwarmStats[];
  on<E extends keyof TrackerEvents>(event: E, listener: (...args: TrackerEvents[E]) => void): this;
  off<E extends keyof TrackerEvents>(event: E, listener: (...args: TrackerEvents[E]) => void): this;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const HEX40 = /^[0-9a-f]{40}$/;

function bindSocket(sock: Socket, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    sock.once('error', onError);
    sock.bind(port, host, () => {
      sock.off('error', onError);
      resolve(sock.address().port);
    });
  });
}

/**
 * An HTTP + UDP BitTorrent tracker for the room, on bittorrent-tracker with WebSocket off, a whitelist,
 * short intervals, per-peer stats and no self in peer lists. Malformed requests are warnings, never
 * crashes. Resolves once every socket is bound; a failed bind closes the others.
 */
export async function startTracker(opts: TrackerOptions = {}): Promise<Tracker> {
  const host = opts.host ?? '0.0.0.0';
  const port = opts.port ?? DEFAULT_TRACKER_PORT;
  const useHttp = opts.http ?? true;
  const useUdp = opts.udp ?? true;
  const interval = opts.interval ?? DEFAULT_ANNOUNCE_INTERVAL;
  const family = isIP(host);
  if (family === 0)
    throw new TrackerError(TrackerErrorCode.BadOption, `tracker host ${host} is not an IP address`, {
      hint: 'use an IP address (0.0.0.0 for every interface)',
    });
  if (!useHttp && !useUdp)
    throw new TrackerError(TrackerErrorCode.BadOption, 'tracker: both http and udp are off', {
      hint: 'enable http, udp or both',
    });
  if (opts.signal?.aborted)
    throw new TrackerError(TrackerErrorCode.Aborted, 'startTracker aborted', { cause: opts.signal.reason });

  const allowed = new Set(Array.isArray(opts.whitelist) ? opts.whitelist.map((h) => h.toLowerCase()) : []);
  const predicate = typeof opts.whitelist === 'function' ? opts.whitelist : null;
  const restricted = opts.whitelist !== undefined;
  const isAllowed = (h: string): boolean => !restricted || allowed.has(h) || (predicate?.(h) ?? false);

  const events = new EventEmitter();
  const server = new Server({
    interval: interval * 1000,
    http: useHttp,
    udp: useUdp ? { reuseAddr: false } : false,
    ws: false,
    stats: false,
    peersCacheTtl: interval * 1000 * PEER_TTL_INTERVALS,
    filter: (infoHash, _params, cb) => {
      if (isAllowed(infoHash)) cb(null);
      else cb(new Error(`info hash ${infoHash} is not served by this tracker`));
    },
  });
  server.createSwarm = (infoHash, cb) => {
    const swarm = new LanSwarm(infoHash, server);
    server.torrents[infoHash] = swarm;
    process.nextTick(() => cb(null, swarm));
  };
  // Warnings are peers' mistakes: log at debug and re-emit, never throw (an unhandled 'error' would).
  server.on('warning', (err: Error) => {
    opts.logger?.debug?.('tracker warning', { err: err.message });
    if (events.listenerCount('warning') > 0) events.emit('warning', err);
  });
  server.on('error', (err: Error) => opts.logger?.error?.('tracker socket error', { err: err.message }));
  const onAnnounce = (_addr: string, params: AnnounceParams): void => {
    const swarm = server.torrents[params.info_hash] as LanSwarm | undefined;
    if (!swarm) return;
    if (params.event === 'started') {
      events.emit('peer', {
        infoHash: params.info_hash,
        id: params.peer_id,
        ip: params.ip,
        port: params.port,
      });
    }
    events.emit('update', swarm.stats());
  };
  for (const e of ['start', 'complete', 'update', 'stop', 'paused']) server.on(e, onAnnounce);

  // Bind each socket ourselves with explicit hosts: listen(port, '127.0.0.1') would bind the UDP6
  // socket to an IPv4 address and it emits EINVAL (measured), which kills a process without a handler.
  let httpPort: number | null = null;
  let udpPort: number | null = null;
  let closed: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closed ??= new Promise<void>((resolve) => {
      opts.signal?.removeEventListener('abort', onAbort);
      events.removeAllListeners();
      server.removeAllListeners();
      server.on('error', () => {});
      server.close(() => resolve());
    });
    return closed;
  };
  const onAbort = (): void => void close();
  try {
    // One UDP socket, of the host's family.
    const unused = family === 4 ? 'udp6' : 'udp4';
    server[unused]?.close();
    server[unused] = null;
    if (server.http) {
      const http = server.http;
      httpPort = await new Promise<number>((resolve, reject) => {
        http.once('error', reject);
        http.listen(port, host, () => {
          http.off('error', reject);
          const a = http.address();
          resolve(typeof a === 'object' && a ? a.port : port);
        });
      });
    }
    const udp = server.udp4 ?? server.udp6;
    if (udp) udpPort = await bindSocket(udp, port, host);
  } catch (cause) {
    await close();
    throw new TrackerError(
      TrackerErrorCode.Bind,
      `tracker cannot listen on ${host}:${port}: ${String(cause)}`,
      { cause, hint: 'pick another port (0 = any)' },
    );
  }
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  const handle: Tracker = {
    httpPort,
    udpPort,
    announceUrls(h) {
      const hp = isIP(h) === 6 ? `[${h}]` : h;
      const urls: string[] = [];
      if (udpPort !== null) urls.push(`udp://${hp}:${udpPort}`);
      if (httpPort !== null) urls.push(`http://${hp}:${httpPort}/announce`);
      return urls;
    },
    allow(infoHash) {
      const h = infoHash.toLowerCase();
      if (!HEX40.test(h))
        throw new TrackerError(
          TrackerErrorCode.BadOption,
          `allow(): ${infoHash} is not a 40-digit hex info hash`,
        );
      allowed.add(h);
    },
    stats: () => Object.values(server.torrents).map((s: Swarm) => (s as LanSwarm).stats()),
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
