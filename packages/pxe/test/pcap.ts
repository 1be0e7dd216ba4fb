// Minimal reader for the golden pcap files: Ethernet → IPv4 → UDP payloads.
import { readFileSync } from 'node:fs';

export interface UdpRecord {
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  payload: Buffer;
}

export function readPcap(path: string): UdpRecord[] {
  const buf = readFileSync(path);
  const magic = buf.readUInt32LE(0);
  if (magic !== 0xa1b2c3d4) throw new Error(`${path}: not a little-endian microsecond pcap`);
  const linktype = buf.readUInt32LE(20);
  if (linktype !== 1) throw new Error(`${path}: link type ${linktype}, want Ethernet`);
  const out: UdpRecord[] = [];
  for (let off = 24; off + 16 <= buf.length;) {
    const incl = buf.readUInt32LE(off + 8);
    const frame = buf.subarray(off + 16, off + 16 + incl);
    off += 16 + incl;
    if (frame.readUInt16BE(12) !== 0x0800) continue;
    const ip = frame.subarray(14);
    const ihl = (ip[0]! & 15) * 4;
    if (ip[9] !== 17) continue;
    const udp = ip.subarray(ihl);
    const ipStr = (at: number): string => [...ip.subarray(at, at + 4)].join('.');
    out.push({
      src: ipStr(12),
      dst: ipStr(16),
      srcPort: udp.readUInt16BE(0),
      dstPort: udp.readUInt16BE(2),
      payload: Buffer.from(udp.subarray(8, udp.readUInt16BE(4))),
    });
  }
  return out;
}
