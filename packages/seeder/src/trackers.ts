import TrackerClient from 'bittorrent-tracker';
import type { Torrent } from 'webtorrent';
import type { Logger } from './errors.js';

/** Announce to a tracker's HTTP URL when its UDP URL has not answered for this long. @default 3000 ms */
export const DEFAULT_TRACKER_FALLBACK_MS = 3000;

/** The announce URLs to use at once, and the ones held back for {@link TrackerFallback}. */
export interface TrackerChoice {
  primary: string[];
  fallback: string[];
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname.toLowerCase();
  } catch {
    return undefined;
  }
}

/**
 * One announce per tracker host: where a host is listed with a `udp://` URL, its `http(s)://` URLs are
 * held back as a fallback; every other URL is used at once, in the given order (duplicates dropped).
 *
 * Why. webtorrent announces to every URL of the announce list at the same time, and
 * `boottorrent start` lists its tracker twice (UDP, then HTTP), so each booting machine announced
 * twice. The HTTP announce goes through Node's fetch (undici), loaded on first use: in a V8 profile of
 * the benchmark's 16 machines it was 14 % of their CPU in the first 1.5 s after the start, when all of
 * them connect at once (docs/performance.md, "## swarm", Session 4). A UDP announce (BEP 15) is two
 * datagram round trips. BEP 12 also asks a client to use one tracker of a tier, not all.
 */
export function chooseTrackers(urls: readonly string[]): TrackerChoice {
  const unique = [...new Set(urls)];
  const udpHosts = new Set(unique.filter((u) => u.startsWith('udp://')).flatMap((u) => hostOf(u) ?? []));
  const primary: string[] = [];
  const fallback: string[] = [];
  for (const u of unique) {
    const host = /^https?:\/\//.test(u) ? hostOf(u) : undefined;
    (host !== undefined && udpHosts.has(host) ? fallback : primary).push(u);
  }
  return { primary, fallback };
}

export interface TrackerFallbackOptions {
  urls: string[];
  afterMs: number;
  infoHash: string;
  /** hex */
  peerId: string;
  port: number;
  logger?: Logger | undefined;
}

/**
 * Announces to the held-back URLs of {@link chooseTrackers} when no tracker has answered within
 * `afterMs` (a firewall that drops UDP, a tracker with UDP off), through its own bittorrent-tracker
 * client whose peers join the torrent. It stays on until {@link stop}.
 */
export class TrackerFallback {
  private timer: NodeJS.Timeout | undefined;
  private client: TrackerClient | undefined;
  private answered = false;

  constructor(
    private readonly torrent: Torrent,
    private readonly opts: TrackerFallbackOptions,
  ) {
    if (opts.urls.length === 0) return;
    torrent.once('trackerAnnounce', () => {
      this.answered = true;
      clearTimeout(this.timer);
    });
    this.timer = setTimeout(() => this.start(), opts.afterMs);
    this.timer.unref();
  }

  private start(): void {
    if (this.answered || this.torrent.destroyed) return;
    this.opts.logger?.info?.('no answer from the UDP tracker: announcing over HTTP', {
      afterMs: this.opts.afterMs,
      urls: this.opts.urls,
    });
    const client = new TrackerClient({
      infoHash: this.opts.infoHash,
      peerId: this.opts.peerId,
      port: this.opts.port,
      announce: this.opts.urls,
    });
    client.on('peer', (peer: string) => {
      if (!this.torrent.destroyed) this.torrent.addPeer(peer);
    });
    client.on('warning', (err: unknown) =>
      this.opts.logger?.debug?.('tracker warning', { err: String(err) }),
    );
    client.on('error', (err: unknown) => this.opts.logger?.warn?.('tracker error', { err: String(err) }));
    client.start();
    this.client = client;
  }

  /** Cancels the timer and leaves the fallback trackers (a `stopped` announce). */
  stop(): void {
    clearTimeout(this.timer);
    const c = this.client;
    this.client = undefined;
    if (c) {
      c.stop();
      c.destroy();
    }
  }
}
