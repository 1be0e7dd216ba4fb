// The subset of bittorrent-protocol (no shipped types) that the probe peer of super-seed.test.ts uses.
declare module 'bittorrent-protocol' {
  import type { Duplex } from 'node:stream';
  export default class Protocol extends Duplex {
    peerPieces: { get(i: number): boolean };
    peerChoking: boolean;
    handshake(infoHash: string, peerId: string, extensions?: { dht?: boolean; fast?: boolean }): void;
    interested(): void;
    unchoke(): void;
    choke(): void;
    bitfield(bitfield: Uint8Array): void;
    have(index: number): void;
    request(
      index: number,
      offset: number,
      length: number,
      cb: (err: Error | null, block?: Uint8Array) => void,
    ): void;
  }
}
