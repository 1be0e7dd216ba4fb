/**
 * Typed accessors for the options this package reads and writes. Raw bytes stay in
 * `packet.options`; these functions interpret them and throw `PXE_MALFORMED_PACKET` (reason
 * `bad-option-<code>`) when a value has an impossible length.
 */
import { DhcpOption } from './constants.js';
import { malformed } from './errors.js';
import { bytesToIp, ipToBytes } from './ip.js';
import type { DhcpPacket } from './packet.js';

type Opts = DhcpPacket['options'];

function bad(code: number, why: string): never {
  throw malformed(`bad-option-${code}`, `option ${code}: ${why}`);
}

function fixed(o: Opts, code: number, len: number): Uint8Array | null {
  const v = o.get(code);
  if (v === undefined) return null;
  if (v.length !== len) bad(code, `length ${v.length}, want ${len}`);
  return v;
}

function text(o: Opts, code: number): string | null {
  const v = o.get(code);
  if (v === undefined) return null;
  // Some clients NUL-terminate strings; drop trailing NULs only (option 61 is bytes, not text).
  let end = v.length;
  while (end > 0 && v[end - 1] === 0) end--;
  return Buffer.from(v.buffer, v.byteOffset, end).toString('latin1');
}

function u32(o: Opts, code: number): number | null {
  const v = fixed(o, code, 4);
  return v ? Buffer.from(v).readUInt32BE(0) : null;
}

function ip(o: Opts, code: number): string | null {
  const v = fixed(o, code, 4);
  return v ? bytesToIp(v) : null;
}

/** Option 53 (RFC 2132 §9.6), or null when absent (a BOOTP packet). */
export function getMessageType(o: Opts): number | null {
  const v = fixed(o, DhcpOption.DhcpMessageType, 1);
  return v ? (v[0] as number) : null;
}
/** Option 50 requested IP (RFC 2132 §9.1). */
export const getRequestedIp = (o: Opts): string | null => ip(o, DhcpOption.RequestedIpAddress);
/** Option 51 lease time in seconds (RFC 2132 §9.2). */
export const getLeaseTime = (o: Opts): number | null => u32(o, DhcpOption.IpAddressLeaseTime);
/** Option 54 server identifier (RFC 2132 §9.7). */
export const getServerId = (o: Opts): string | null => ip(o, DhcpOption.ServerIdentifier);
/** Option 60 vendor class, e.g. `PXEClient:Arch:00007:UNDI:003016` (RFC 2132 §9.13). */
export const getVendorClass = (o: Opts): string | null => text(o, DhcpOption.VendorClassIdentifier);
/** Option 66 TFTP server name (RFC 2132 §9.4). */
export const getTftpServerName = (o: Opts): string | null => text(o, DhcpOption.TftpServerName);
/** Option 67 boot file name (RFC 2132 §9.5). */
export const getBootFileName = (o: Opts): string | null => text(o, DhcpOption.BootFileName);

/** Option 55 parameter request list (RFC 2132 §9.8). */
export function getParameterList(o: Opts): number[] | null {
  const v = o.get(DhcpOption.ParameterRequestList);
  return v ? [...v] : null;
}

/** Option 57 maximum message size (RFC 2132 §9.10); values under 576 are invalid. */
export function getMaxMessageSize(o: Opts): number | null {
  const v = fixed(o, DhcpOption.MaximumDhcpMessageSize, 2);
  if (!v) return null;
  const n = Buffer.from(v).readUInt16BE(0);
  return n < 576 ? bad(57, `${n} < 576`) : n;
}

/** Option 61 client identifier, kept whole as bytes (zero bytes included; RFC 2132 §9.14). */
export function getClientId(o: Opts): Uint8Array | null {
  const v = o.get(DhcpOption.ClientIdentifier);
  if (v === undefined) return null;
  return v.length < 2 ? bad(61, 'shorter than 2 bytes') : v;
}

/**
 * Option 77 user classes. RFC 3004 §4 frames each class with a length byte, but iPXE and most
 * firmware send one plain string ("iPXE"); both forms are accepted.
 */
export function getUserClasses(o: Opts): string[] | null {
  const v = o.get(DhcpOption.UserClass);
  if (v === undefined) return null;
  const framed: string[] = [];
  let i = 0;
  while (i < v.length) {
    const len = v[i] as number;
    if (len === 0 || i + 1 + len > v.length) break;
    framed.push(Buffer.from(v.subarray(i + 1, i + 1 + len)).toString('latin1'));
    i += 1 + len;
  }
  if (i === v.length && framed.length > 0) return framed;
  const plain = text(o, DhcpOption.UserClass);
  return plain === null ? null : [plain];
}

/** Option 93 client architectures (RFC 4578 §2.1): a list of 16-bit types; usually one. */
export function getClientArch(o: Opts): number[] | null {
  const v = o.get(DhcpOption.ClientSystemArchitecture);
  if (v === undefined) return null;
  if (v.length === 0 || v.length % 2 !== 0) bad(93, `length ${v.length} is not a positive even number`);
  const out: number[] = [];
  for (let i = 0; i < v.length; i += 2) out.push(((v[i] as number) << 8) | (v[i + 1] as number));
  return out;
}

/** Option 94 client network interface identifier (RFC 4578 §2.2): UNDI type and version. */
export function getClientNdi(o: Opts): { type: number; major: number; minor: number } | null {
  const v = fixed(o, DhcpOption.ClientNetworkInterfaceIdentifier, 3);
  return v ? { type: v[0] as number, major: v[1] as number, minor: v[2] as number } : null;
}

/**
 * Option 97 client machine identifier (RFC 4578 §2.3): type 0 then a 16-byte GUID, returned as a
 * lowercase 8-4-4-4-12 string. Other lengths or types are malformed (as pixiecore treats them).
 */
export function getClientUuid(o: Opts): string | null {
  const v = o.get(DhcpOption.ClientMachineIdentifier);
  if (v === undefined) return null;
  if (v.length !== 17 || v[0] !== 0) bad(97, `want type 0 and 16 bytes, got ${v.length} bytes`);
  const h = Buffer.from(v.subarray(1)).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Parses an encapsulated option space (option 43, option 175): code/length/value triplets. */
export function decodeSubOptions(v: Uint8Array, code: number): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  let i = 0;
  while (i < v.length) {
    const c = v[i++] as number;
    if (c === 0) continue;
    if (c === 255) break;
    const len = v[i++];
    if (len === undefined || i + len > v.length) bad(code, `sub-option ${c} runs past the end`);
    out.set(c, v.subarray(i, i + len));
    i += len;
  }
  return out;
}

/** Option 43 (RFC 2132 §8.4) decoded as PXE vendor sub-options. */
export function getVendorOptions(o: Opts): Map<number, Uint8Array> | null {
  const v = o.get(DhcpOption.VendorSpecificInformation);
  return v ? decodeSubOptions(v, 43) : null;
}

/** Option 175, iPXE's encapsulated settings (ipxe.org/cfg). Its presence marks an iPXE client. */
export function getIpxeOptions(o: Opts): Map<number, Uint8Array> | null {
  const v = o.get(DhcpOption.IpxeEncapsulated);
  return v ? decodeSubOptions(v, 175) : null;
}

/** Encodes sub-options (option 43/175 style), ending with 255. */
export function encodeSubOptions(subs: Iterable<[number, Uint8Array]>): Uint8Array {
  const parts: number[] = [];
  for (const [c, v] of subs) parts.push(c, v.length, ...v);
  parts.push(255);
  return Uint8Array.from(parts);
}

/** Value encoders for building replies. */
export const encode = {
  u8: (n: number): Uint8Array => Uint8Array.of(n),
  u16: (n: number): Uint8Array => Uint8Array.of(n >>> 8, n & 255),
  u32: (n: number): Uint8Array => Uint8Array.of(n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255),
  ip: (a: string): Uint8Array => ipToBytes(a),
  ips: (as: readonly string[]): Uint8Array => Buffer.concat(as.map((a) => ipToBytes(a))),
  text: (s: string): Uint8Array => Buffer.from(s, 'latin1'),
};
