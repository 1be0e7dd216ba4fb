// The subset of webtorrent 3 / parse-torrent / bittorrent-protocol / bittorrent-tracker that this package uses. None ships
// types; these declarations stay internal (no public signature mentions them).
declare module 'webtorrent' {
  import type { EventEmitter } from 'node:events';
  import type { Server } from 'node:net';

  export interface Wire extends EventEmitter {
    type: 'tcpIncoming' | 'tcpOutgoing' | 'utpIncoming' | 'utpOutgoing' | 'webrtc' | 'webSeed';
    remoteAddress?: string;
    remotePort?: number;
    peerId?: string;
    destroyed: boolean;
    downloaded: number;
    uploaded: number;
    peerInterested: boolean;
    amChoking: boolean;
    isSeeder: boolean;
    requests: unknown[];
    downloadSpeed(): number;
    uploadSpeed(): number;
    unchoke(): void;
    destroy(): void;
    have(index: number): void;
    bitfield(bitfield: Uint8Array | { buffer: Uint8Array }): void;
    haveAll(): void;
    piece(index: number, offset: number, buffer: Uint8Array): void;
  }

  export interface TorrentFile {
    path: string;
    name: string;
    length: number;
  }

  export interface Torrent extends EventEmitter {
    infoHash: string;
    name: string;
    length: number;
    downloaded: number;
    uploaded: number;
    received: number;
    progress: number;
    downloadSpeed: number;
    uploadSpeed: number;
    done: boolean;
    ready: boolean;
    destroyed: boolean;
    numPeers: number;
    pieceLength: number;
    wires: Wire[];
    files: TorrentFile[];
    addPeer(addr: string): boolean;
    addWebSeed(url: string): void;
    removePeer(id: string): void;
    destroy(opts?: { destroyStore?: boolean }, cb?: (err?: Error | null) => void): void;
  }

  export interface ClientOptions {
    peerId?: string;
    torrentPort?: number;
    dht?: boolean;
    utp?: boolean;
    lsd?: boolean;
    utPex?: boolean;
    natUpnp?: boolean;
    natPmp?: boolean;
    webSeeds?: boolean;
    maxConns?: number;
    tracker?: false | Record<string, unknown>;
    seedOutgoingConnections?: boolean;
    uploadLimit?: number;
    secure?: 0 | 1 | 2;
    downloadLimit?: number;
  }

  export interface AddOptions {
    path?: string;
    announce?: string[];
    skipVerify?: boolean;
    uploads?: number;
    strategy?: 'sequential' | 'rarest';
    alwaysChokeSeeders?: boolean;
    noPeersIntervalTime?: number;
    storeCacheSlots?: number;
  }

  export default class WebTorrent extends EventEmitter {
    constructor(opts?: ClientOptions);
    peerId: string;
    torrentPort: number;
    listening: boolean;
    destroyed: boolean;
    torrents: Torrent[];
    _connPool?: { tcpServer: Server };
    add(torrentId: unknown, opts?: AddOptions, ontorrent?: (t: Torrent) => void): Torrent;
    destroy(cb?: (err?: Error | null) => void): void;
  }
}

declare module 'parse-torrent' {
  export interface ParsedTorrent {
    infoHash: string;
    name: string;
    length: number;
    pieceLength: number;
    lastPieceLength: number;
    pieces: string[];
    announce: string[];
    urlList: string[];
    files: { path: string; name: string; length: number; offset: number }[];
    info: unknown;
    infoBuffer: Uint8Array;
  }
  export default function parseTorrent(torrentId: Uint8Array | ParsedTorrent): Promise<ParsedTorrent>;
}

declare module 'bittorrent-tracker' {
  import type { EventEmitter } from 'node:events';

  /** The announcing client (bittorrent-tracker 11), as webtorrent itself uses it. */
  export default class Client extends EventEmitter {
    constructor(opts: { infoHash: string; peerId: string; port: number; announce: string[] });
    start(): void;
    stop(): void;
    destroy(cb?: (err?: Error | null) => void): void;
  }
}

declare module 'webtorrent/lib/peer.js' {
  /** webtorrent's Peer: the fast path patches its `setThrottlePipes` (see fast-wire.ts). */
  const Peer: { prototype: object };
  export default Peer;
}
