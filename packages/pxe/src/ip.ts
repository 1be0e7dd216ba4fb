/** IPv4 helpers: dotted quads ⇄ numbers and bytes, subnets. */
import { PxeError, PxeErrorCode } from './errors.js';

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** True when `s` is a dotted-quad IPv4 address. */
export function isIpv4(s: string): boolean {
  const m = IPV4.exec(s);
  return m !== null && m.slice(1).every((x) => Number(x) <= 255);
}

/** Dotted quad → unsigned 32-bit number; throws `PXE_BAD_OPTION` on anything else. */
export function ipToNumber(ip: string): number {
  const m = IPV4.exec(ip);
  if (!m || !m.slice(1).every((x) => Number(x) <= 255)) {
    throw new PxeError(PxeErrorCode.BadOption, `"${ip}" is not an IPv4 address`);
  }
  return ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
}

/** Unsigned 32-bit number → dotted quad. */
export function numberToIp(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** Four bytes of `buf` at `at` → dotted quad. */
export function bytesToIp(buf: Uint8Array, at = 0): string {
  return `${buf[at] ?? 0}.${buf[at + 1] ?? 0}.${buf[at + 2] ?? 0}.${buf[at + 3] ?? 0}`;
}

/** Dotted quad → 4 bytes. */
export function ipToBytes(ip: string): Uint8Array {
  const n = ipToNumber(ip);
  return Uint8Array.of(n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
}

/** An IPv4 subnet as numbers. */
export interface Subnet {
  network: number;
  mask: number;
  broadcast: number;
}

/** The subnet holding `ip` with netmask `mask` (both dotted quads). */
export function subnetOf(ip: string, mask: string): Subnet {
  const m = ipToNumber(mask);
  const network = (ipToNumber(ip) & m) >>> 0;
  return { network, mask: m, broadcast: (network | (~m >>> 0)) >>> 0 };
}

/** True when `ip` (a number) lies in `s`. */
export function inSubnet(ip: number, s: Subnet): boolean {
  return (ip & s.mask) >>> 0 === s.network;
}

/** Normalizes a MAC to lowercase `aa:bb:cc:dd:ee:ff`; throws `PXE_BAD_OPTION` otherwise. */
export function normalizeMac(mac: string): string {
  const hex = mac.toLowerCase().replace(/[^0-9a-f]/g, '');
  if (hex.length !== 12 || !/^([0-9a-f]{2}[:-]?){5}[0-9a-f]{2}$/i.test(mac)) {
    throw new PxeError(PxeErrorCode.BadOption, `"${mac}" is not a MAC address (want aa:bb:cc:dd:ee:ff)`);
  }
  return hex.match(/../g)!.join(':');
}
