// The subset of bittorrent-tracker 11 that this package uses (it ships no types). Internal only.
declare module 'bittorrent-tracker' {
  import type { EventEmitter } from 'node:events';
  import type { Socket } from 'node:dgram';
  import type { Server as HttpServer } from 'node:http';

  export interface AnnounceParams {
    type: 'http' | 'udp' | 'ws';
    action: number;
    event?: string;
    info_hash: string;
    peer_id: string;
    ip: string;
    port: number;
    addr: string;
    uploaded?: number;
    downloaded?: number;
    left?: number;
    numwant?: number;
    compact?: number;
  }

  export interface SwarmPeer {
    type: string;
    complete: boolean;
    peerId: string;
    ip: string;
    port: number;
  }

  export class Swarm {
    constructor(infoHash: string, server: Server);
    infoHash: string;
    complete: number;
    incomplete: number;
    peers: {
      keys: string[];
      peek(id: string): SwarmPeer | undefined;
      get(id: string): SwarmPeer | undefined;
    };
    announce(params: AnnounceParams, cb: (err: Error | null, response?: unknown) => void): void;
    _getPeers(numwant: number, ownPeerId: string, isWebRTC: boolean): SwarmPeer[];
  }

  export interface ServerOptions {
    interval?: number;
    http?: boolean;
    udp?: boolean | { reuseAddr?: boolean };
    ws?: boolean;
    stats?: boolean;
    trustProxy?: boolean;
    peersCacheTtl?: number;
    peersCacheLength?: number;
    filter?: (infoHash: string, params: AnnounceParams, cb: (err?: Error | null) => void) => void;
  }

  export class Server extends EventEmitter {
    static Swarm: typeof Swarm;
    constructor(opts?: ServerOptions);
    http: HttpServer | null;
    udp4: Socket | null;
    udp6: Socket | null;
    torrents: Record<string, Swarm>;
    intervalMs: number;
    listen(
      port: number | { http?: number; udp?: number },
      hostname?: string | { http?: string; udp?: string; udp6?: string },
    ): void;
    close(cb?: (err?: Error | null) => void): void;
    createSwarm(infoHash: string, cb: (err: Error | null, swarm: Swarm) => void): void;
  }
}
