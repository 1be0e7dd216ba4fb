import { Server, type AnnounceParams, type SwarmPeer } from 'bittorrent-tracker';

/** What one peer last reported in an announce (BEP 3 `uploaded`, `downloaded`, `left`). */
export interface PeerStats {
  /** hex peer id */
  id: string;
  ip: string;
  port: number;
  uploaded: number;
  downloaded: number;
  left: number;
}

/** Per-torrent swarm state, as shown in the live view. */
export interface SwarmStats {
  infoHash: string;
  /** peers with left = 0 */
  seeders: number;
  /** peers still downloading */
  leechers: number;
  /** `completed` events received so far (downloads finished) */
  completed: number;
  peers: PeerStats[];
}

/**
 * bittorrent-tracker's swarm, plus two things a LAN boot needs: each peer's reported byte counts, and
 * peer lists that never contain the announcing peer itself (the library only filters that for
 * WebSocket peers; measured: HTTP and UDP lists handed a peer its own address back).
 */
export class LanSwarm extends Server.Swarm {
  readonly reports = new Map<string, PeerStats>();
  /** peer ids that reported `completed`: the count of finished downloads, each machine once */
  private readonly finished = new Set<string>();
  private announcing: AnnounceParams | null = null;

  override announce(params: AnnounceParams, cb: (err: Error | null, response?: unknown) => void): void {
    const key = params.type === 'ws' ? params.peer_id : params.addr;
    this.announcing = params;
    try {
      super.announce(params, (err, response) => {
        if (!err) {
          if (params.event === 'stopped') this.reports.delete(key);
          else {
            if (params.event === 'completed') this.finished.add(params.peer_id);
            this.reports.set(key, {
              id: params.peer_id,
              ip: params.ip,
              port: params.port,
              uploaded: Number(params.uploaded ?? 0),
              downloaded: Number(params.downloaded ?? 0),
              left: Number(params.left ?? 0),
            });
          }
        }
        cb(err, response);
      });
    } finally {
      this.announcing = null;
    }
  }

  override _getPeers(numwant: number, ownPeerId: string, isWebRTC: boolean): SwarmPeer[] {
    const self = this.announcing;
    // ask for one more, since we may drop ourselves
    return super
      ._getPeers(numwant + 1, ownPeerId, isWebRTC)
      .filter((p) => p.peerId !== ownPeerId && !(self && p.ip === self.ip && p.port === self.port))
      .slice(0, numwant);
  }

  stats(): SwarmStats {
    const peers: PeerStats[] = [];
    for (const key of this.peers.keys) {
      if (!this.peers.peek(key)) {
        this.reports.delete(key); // expired from the library's LRU
        continue;
      }
      const r = this.reports.get(key);
      if (r) peers.push({ ...r });
    }
    return {
      infoHash: this.infoHash,
      seeders: this.complete,
      leechers: this.incomplete,
      completed: this.finished.size,
      peers,
    };
  }
}
