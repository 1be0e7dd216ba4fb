// Minimal tracker clients for the tests, written from the specs (BEP 3/23 HTTP, BEP 15 UDP) so they
// check the wire format rather than trusting the library under test.
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';

export type BDecoded = number | Buffer | BDecoded[] | { [k: string]: BDecoded };

/** bencode decoder (BEP 3), enough for tracker responses. */
export function bdecode(buf: Buffer): BDecoded {
  let i = 0;
  const next = (): BDecoded => {
    const c = String.fromCharCode(buf[i]!);
    if (c === 'i') {
      const end = buf.indexOf(0x65, i);
      const n = Number(buf.subarray(i + 1, end).toString());
      i = end + 1;
      return n;
    }
    if (c === 'l' || c === 'd') {
      i++;
      const items: BDecoded[] = [];
      while (buf[i] !== 0x65) items.push(next());
      i++;
      if (c === 'l') return items;
      const o: Record<string, BDecoded> = {};
      for (let k = 0; k < items.length; k += 2) o[(items[k] as Buffer).toString('latin1')] = items[k + 1]!;
      return o;
    }
    const colon = buf.indexOf(0x3a, i);
    const len = Number(buf.subarray(i, colon).toString());
    i = colon + 1 + len;
    return buf.subarray(colon + 1, i);
  };
  return next();
}

export const pct = (b: Buffer): string => [...b].map((x) => '%' + x.toString(16).padStart(2, '0')).join('');

/** "ip:port" list from a compact (BEP 23) peers string. */
export function compactPeers(b: Buffer): string[] {
  const out: string[] = [];
  for (let o = 0; o + 6 <= b.length; o += 6)
    out.push(`${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}:${b.readUInt16BE(o + 4)}`);
  return out;
}

export interface Announce {
  infoHash: string;
  peerId: Buffer;
  port: number;
  uploaded?: number;
  downloaded?: number;
  left?: number;
  event?: 'started' | 'completed' | 'stopped' | '';
}

export async function httpAnnounce(base: string, a: Announce): Promise<Record<string, BDecoded>> {
  const q =
    `info_hash=${pct(Buffer.from(a.infoHash, 'hex'))}&peer_id=${pct(a.peerId)}&port=${a.port}` +
    `&uploaded=${a.uploaded ?? 0}&downloaded=${a.downloaded ?? 0}&left=${a.left ?? 0}&compact=1` +
    (a.event ? `&event=${a.event}` : '');
  const res = await fetch(`${base}/announce?${q}`);
  return bdecode(Buffer.from(await res.arrayBuffer())) as Record<string, BDecoded>;
}

export async function httpScrape(base: string, infoHash: string): Promise<Record<string, BDecoded>> {
  const res = await fetch(`${base}/scrape?info_hash=${pct(Buffer.from(infoHash, 'hex'))}`);
  return bdecode(Buffer.from(await res.arrayBuffer())) as Record<string, BDecoded>;
}

export const newPeerId = (): Buffer => Buffer.concat([Buffer.from('-TT0001-'), randomBytes(12)]);

/** BEP 15 protocol id of the connect request. */
export const UDP_PROTOCOL_ID = 0x41727101980n;
export const UdpAction = { Connect: 0, Announce: 1, Scrape: 2, Error: 3 } as const;
const UdpEvent = { '': 0, completed: 1, started: 2, stopped: 3 } as const;

export class UdpClient {
  readonly sock: Socket = createSocket('udp4');
  constructor(private readonly port: number) {}

  request(msg: Buffer, timeoutMs = 2000): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => (this.sock.off('message', on), reject(new Error('udp timeout'))), timeoutMs);
      const on = (m: Buffer): void => {
        if (m.length >= 8 && m.readUInt32BE(4) === msg.readUInt32BE(12)) {
          clearTimeout(t);
          this.sock.off('message', on);
          resolve(m);
        }
      };
      this.sock.on('message', on);
      this.sock.send(msg, this.port, '127.0.0.1');
    });
  }

  async connect(): Promise<Buffer> {
    const req = Buffer.alloc(16);
    req.writeBigUInt64BE(UDP_PROTOCOL_ID, 0);
    req.writeUInt32BE(UdpAction.Connect, 8);
    req.writeUInt32BE(randomBytes(4).readUInt32BE(0), 12);
    const res = await this.request(req);
    return res.subarray(8, 16);
  }

  async announce(a: Announce): Promise<{
    action: number;
    interval?: number;
    leechers?: number;
    seeders?: number;
    peers: string[];
    message?: string;
  }> {
    const connId = await this.connect();
    const req = Buffer.alloc(98);
    connId.copy(req, 0);
    req.writeUInt32BE(UdpAction.Announce, 8);
    req.writeUInt32BE(randomBytes(4).readUInt32BE(0), 12);
    Buffer.from(a.infoHash, 'hex').copy(req, 16);
    a.peerId.copy(req, 36);
    req.writeBigUInt64BE(BigInt(a.downloaded ?? 0), 56);
    req.writeBigUInt64BE(BigInt(a.left ?? 0), 64);
    req.writeBigUInt64BE(BigInt(a.uploaded ?? 0), 72);
    req.writeUInt32BE(UdpEvent[a.event ?? ''], 80);
    req.writeInt32BE(-1, 92);
    req.writeUInt16BE(a.port, 96);
    const res = await this.request(req);
    const action = res.readUInt32BE(0);
    if (action === UdpAction.Error) return { action, peers: [], message: res.subarray(8).toString() };
    return {
      action,
      interval: res.readUInt32BE(8),
      leechers: res.readUInt32BE(12),
      seeders: res.readUInt32BE(16),
      peers: compactPeers(res.subarray(20)),
    };
  }

  close(): void {
    this.sock.close();
  }
}
