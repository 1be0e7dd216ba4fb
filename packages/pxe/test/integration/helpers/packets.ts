// Crafted client packets for the integration tests, built with our own codec (the thing the raw
// bytes are checked against is the server, not the encoder).
import { randomBytes } from 'node:crypto';
import { BROADCAST_FLAG, decodePacket, encodePacket, type DhcpPacket } from '../../../src/packet.js';
import { DhcpOption, DhcpMessageType } from '../../../src/constants.js';

export interface CraftOptions {
  mac: string;
  type?: number;
  arch?: number;
  vendorClass?: string;
  userClass?: string;
  ipxe175?: boolean;
  uuid?: Uint8Array | null;
  serverId?: string;
  requestedIp?: string;
  ciaddr?: string;
  paramList?: number[];
  xid?: number;
}

export function craft(o: CraftOptions): DhcpPacket {
  const options = new Map<number, Uint8Array>();
  options.set(DhcpOption.DhcpMessageType, Uint8Array.of(o.type ?? DhcpMessageType.Discover));
  if (o.serverId)
    options.set(DhcpOption.ServerIdentifier, Uint8Array.from(o.serverId.split('.').map(Number)));
  if (o.requestedIp)
    options.set(DhcpOption.RequestedIpAddress, Uint8Array.from(o.requestedIp.split('.').map(Number)));
  if (o.paramList) options.set(DhcpOption.ParameterRequestList, Uint8Array.from(o.paramList));
  if (o.arch !== undefined)
    options.set(DhcpOption.ClientSystemArchitecture, Uint8Array.of(o.arch >> 8, o.arch & 255));
  if (o.vendorClass) options.set(DhcpOption.VendorClassIdentifier, Buffer.from(o.vendorClass));
  if (o.userClass) options.set(DhcpOption.UserClass, Buffer.from(o.userClass));
  if (o.ipxe175) options.set(DhcpOption.IpxeEncapsulated, Uint8Array.of(177, 5, 1, 0, 0, 0, 0, 255));
  if (o.uuid !== null)
    options.set(
      DhcpOption.ClientMachineIdentifier,
      Buffer.concat([Uint8Array.of(0), o.uuid ?? randomBytes(16)]),
    );
  const chaddr = new Uint8Array(16);
  chaddr.set(o.mac.split(':').map((h) => parseInt(h, 16)));
  return {
    op: 1,
    htype: 1,
    hlen: 6,
    hops: 0,
    xid: o.xid ?? randomBytes(4).readUInt32BE(0),
    secs: 0,
    flags: BROADCAST_FLAG,
    ciaddr: o.ciaddr ?? '0.0.0.0',
    yiaddr: '0.0.0.0',
    siaddr: '0.0.0.0',
    giaddr: '0.0.0.0',
    chaddr,
    sname: '',
    file: '',
    options,
  };
}

export function pxeClass(arch: number): string {
  return `PXEClient:Arch:${String(arch).padStart(5, '0')}:UNDI:003016`;
}

export const b64 = (p: DhcpPacket): string => encodePacket(p).toString('base64');
export const decode64 = (s: string): DhcpPacket => decodePacket(Buffer.from(s, 'base64'));
