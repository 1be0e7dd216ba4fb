import type { Torrent, Wire } from 'webtorrent';

interface PexWire extends Wire {
  ut_pex?: { addPeer(addr: string): void; _sendMessage(): void; start(): void };
  peerExtendedHandshake?: { m?: Record<string, number> };
}

/**
 * The sending half of BEP 11 peer exchange. webtorrent 3 only *receives* ut_pex messages: it never
 * fills or starts the outgoing side, so two webtorrent peers never exchange peers. We advertise every
 * listening address this torrent learned (tracker, PEX, `serverPeers`, outgoing connections): once right
 * after the extended handshake, then with ut_pex's own once-a-minute updates. This is what lets a
 * machine that can only reach the server's seeder (tracker down) still find the other machines.
 */
export class PexSender {
  private readonly known = new Set<string>();
  private readonly ready = new Set<PexWire>();

  constructor(torrent: Torrent) {
    torrent.on('wire', (wire: PexWire) => {
      if (!wire.ut_pex) return; // pex disabled, or a web seed
      if (wire.type === 'tcpOutgoing') this.note(`${wire.remoteAddress}:${wire.remotePort}`);
      const start = (): void => {
        if (wire.destroyed || this.ready.has(wire) || !wire.peerExtendedHandshake?.m?.ut_pex) return;
        this.ready.add(wire);
        const own = `${wire.remoteAddress}:${wire.remotePort}`;
        for (const addr of this.known) if (addr !== own) wire.ut_pex?.addPeer(addr);
        wire.ut_pex?._sendMessage();
        wire.ut_pex?.start();
      };
      start();
      wire.on('extended', (ext: string) => {
        if (ext === 'handshake') start();
      });
      wire.once('close', () => this.ready.delete(wire));
    });
  }

  /** A listening address ("ip:port", IPv4) of a peer of this torrent. */
  note(addr: string): void {
    if (this.known.has(addr) || !/^\d+\.\d+\.\d+\.\d+:\d+$/.test(addr)) return;
    this.known.add(addr);
    for (const wire of this.ready)
      if (`${wire.remoteAddress}:${wire.remotePort}` !== addr) wire.ut_pex?.addPeer(addr);
  }
}
