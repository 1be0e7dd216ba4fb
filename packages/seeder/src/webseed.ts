import type { Torrent } from 'webtorrent';
import type { Logger } from './errors.js';

export interface WebSeedFallbackOptions {
  urls: string[];
  afterMs: number;
  /** "name/file" of a one-file torrent: BEP 19 puts it under the URL, webtorrent would not */
  singleFile?: string | undefined;
  /** [verified bytes, bytes received from BitTorrent peers] */
  progress: () => [number, number];
  logger?: Logger | undefined;
}

/** How often the stall detector looks. @default 250 ms */
const CHECK_MS = 250;

/**
 * BEP 19 web seed as a fallback only: the HTTP URLs join the swarm when nothing was verified for
 * `afterMs`, and leave again once BitTorrent peers deliver, so the swarm never turns back into
 * client–server while peers can serve.
 */
export class WebSeedFallback {
  private timer: NodeJS.Timeout | undefined;
  private lastVerified = -1;
  private lastPeerBytes = 0;
  private lastChange = Date.now();
  private active: string[] = [];

  constructor(
    private readonly torrent: Torrent,
    private readonly opts: WebSeedFallbackOptions,
  ) {
    if (opts.urls.length === 0) return;
    this.timer = setInterval(() => this.check(), CHECK_MS);
  }

  private url(u: string): string {
    if (!this.opts.singleFile) return u;
    const encoded = this.opts.singleFile.split('/').map(encodeURIComponent).join('/');
    return u.endsWith('/') ? u + encoded : `${u}/${encoded}`;
  }

  private check(): void {
    if (this.torrent.destroyed || this.torrent.done) return this.stop();
    const [verified, peerBytes] = this.opts.progress();
    const now = Date.now();
    if (this.active.length > 0) {
      if (peerBytes > this.lastPeerBytes) {
        this.opts.logger?.info?.('peers deliver again: dropping the web seed', { urls: this.active });
        for (const id of this.active) this.torrent.removePeer(id);
        this.active = [];
        this.lastChange = now;
      }
      this.lastPeerBytes = peerBytes;
      return;
    }
    this.lastPeerBytes = peerBytes;
    if (verified !== this.lastVerified) {
      this.lastVerified = verified;
      this.lastChange = now;
      return;
    }
    if (now - this.lastChange < this.opts.afterMs) return;
    this.active = this.opts.urls.map((u) => this.url(u));
    this.opts.logger?.warn?.(`no progress for ${this.opts.afterMs} ms: adding the web seed`, {
      urls: this.active,
    });
    for (const id of this.active) this.torrent.addWebSeed(id);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
