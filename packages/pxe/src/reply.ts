/** Builds reply packets: the address part (server mode) and the boot part (both modes). */
import { BootpOp, DhcpMessageType, DhcpOption, IpxeOption, PxeVendorOption } from './constants.js';
import type { BootClientKind, BootPlan, Machine } from './machine.js';
import { encode, encodeSubOptions, getParameterList } from './options.js';
import type { DhcpPacket } from './packet.js';

/** Settings a reply needs from the server. */
export interface ReplyContext {
  serverAddress: string;
  subnetMask: string;
  broadcast: string;
  router: string | undefined;
  dns: readonly string[];
  leaseTime: number;
}

/** A reply skeleton for `req`: xid, flags, giaddr and chaddr copied; 53 and 54 first. */
export function baseReply(req: DhcpPacket, type: DhcpMessageType, serverAddress: string): DhcpPacket {
  const options = new Map<number, Uint8Array>();
  options.set(DhcpOption.DhcpMessageType, encode.u8(type));
  options.set(DhcpOption.ServerIdentifier, encode.ip(serverAddress));
  return {
    op: BootpOp.BootReply,
    htype: req.htype,
    hlen: req.hlen,
    hops: 0,
    xid: req.xid,
    secs: 0,
    flags: req.flags,
    ciaddr: '0.0.0.0',
    yiaddr: '0.0.0.0',
    siaddr: '0.0.0.0',
    giaddr: req.giaddr,
    chaddr: req.chaddr,
    sname: '',
    file: '',
    options,
  };
}

/** Adds the network configuration of server mode (RFC 2132 §3, §9.2, §9.11). */
export function addNetworkOptions(reply: DhcpPacket, ctx: ReplyContext, withLease: boolean): void {
  const o = reply.options;
  if (withLease) {
    o.set(DhcpOption.IpAddressLeaseTime, encode.u32(ctx.leaseTime));
    o.set(DhcpOption.RenewalTime, encode.u32(Math.floor(ctx.leaseTime / 2)));
    o.set(DhcpOption.RebindingTime, encode.u32(Math.floor((ctx.leaseTime * 7) / 8)));
  }
  o.set(DhcpOption.SubnetMask, encode.ip(ctx.subnetMask));
  o.set(DhcpOption.BroadcastAddress, encode.ip(ctx.broadcast));
  if (ctx.router !== undefined) o.set(DhcpOption.Router, encode.ip(ctx.router));
  if (ctx.dns.length > 0) o.set(DhcpOption.DomainNameServer, encode.ips(ctx.dns));
}

/** How the boot part is shaped. */
export interface BootReplyOptions {
  plan: BootPlan;
  machine: Machine;
  kind: BootClientKind;
  mode: 'server' | 'proxy';
  serverAddress: string;
}

const FILE_FIELD_MAX = 127;

/**
 * Adds the boot file. siaddr names the TFTP server; the file goes in the BOOTP `file` field (what
 * PXE ROMs read) and in option 67 when it does not fit there or the client asked for 67.
 *
 * Proxy mode follows the PXE spec as pixiecore and dnsmasq do: option 60 "PXEClient" marks the
 * offer as proxyDHCP, and option 43 sub-option 6 = 8 tells BIOS ROMs and iPXE to boot this file
 * without boot server discovery. UEFI ROMs get no option 43 (some ignore proxy offers that carry
 * it; the PXE spec says to use the file from the packet when 43 is absent). UEFI HTTP boot needs
 * option 60 "HTTPClient" in every answer (UEFI 2.x §24.7). In server mode, iPXE gets 175.176 = 1
 * so it does not wait 3 s for a proxy (lab-facts §7.2). Option 97 is echoed (PXE spec §2.4).
 */
export function addBootOptions(reply: DhcpPacket, req: DhcpPacket, b: BootReplyOptions): void {
  const o = reply.options;
  reply.siaddr = b.plan.nextServer ?? b.serverAddress;
  const wanted = getParameterList(req.options) ?? [];
  const fits = Buffer.byteLength(b.plan.bootFile, 'latin1') <= FILE_FIELD_MAX;
  if (fits) reply.file = b.plan.bootFile;
  if (!fits || wanted.includes(DhcpOption.BootFileName))
    o.set(DhcpOption.BootFileName, encode.text(b.plan.bootFile));
  if (wanted.includes(DhcpOption.TftpServerName)) o.set(DhcpOption.TftpServerName, encode.text(reply.siaddr));
  if (b.mode === 'proxy' || b.kind === 'HTTPClient')
    o.set(DhcpOption.VendorClassIdentifier, encode.text(b.kind));
  const biosLike = b.machine.arch === null || b.machine.arch === 0 || b.machine.isIpxe;
  if (b.mode === 'proxy' && b.kind === 'PXEClient' && biosLike) {
    o.set(
      DhcpOption.VendorSpecificInformation,
      encodeSubOptions([[PxeVendorOption.DiscoveryControl, encode.u8(8)]]),
    );
  }
  if (b.mode === 'server' && b.machine.isIpxe) {
    o.set(DhcpOption.IpxeEncapsulated, encodeSubOptions([[IpxeOption.NoPxeDhcp, encode.u8(1)]]));
  }
  const guid = req.options.get(DhcpOption.ClientMachineIdentifier);
  if (guid !== undefined) o.set(DhcpOption.ClientMachineIdentifier, guid);
}

/** Type guard for the message types a client may send. */
export function isClientMessage(t: number): boolean {
  return (
    t === DhcpMessageType.Discover ||
    t === DhcpMessageType.Request ||
    t === DhcpMessageType.Decline ||
    t === DhcpMessageType.Release ||
    t === DhcpMessageType.Inform
  );
}
