/** Small IPv4 helpers for validation (no dependency on the protocol packages). */

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isIpv4(s: string): boolean {
  return IPV4.test(s);
}

/** Dotted quad → unsigned 32-bit number. The caller checks `isIpv4` first. */
export function ipv4ToInt(s: string): number {
  return s.split('.').reduce((acc, part) => acc * 256 + Number(part), 0) >>> 0;
}

export function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => (n >>> shift) & 255).join('.');
}

/** True when the mask is contiguous ones followed by zeros (255.255.255.0, not 255.0.255.0). */
export function isNetmask(s: string): boolean {
  if (!isIpv4(s)) return false;
  const n = ipv4ToInt(s);
  const inverted = ~n >>> 0;
  return (inverted & (inverted + 1)) === 0;
}

/** Number of one bits in a netmask: 255.255.255.0 → 24. */
export function prefixLength(mask: string): number {
  let n = ipv4ToInt(mask);
  let bits = 0;
  while (n) {
    bits += n & 1;
    n >>>= 1;
  }
  return bits;
}

export function sameSubnet(a: string, b: string, mask: string): boolean {
  const m = ipv4ToInt(mask);
  return (ipv4ToInt(a) & m) >>> 0 === (ipv4ToInt(b) & m) >>> 0;
}

const MAC = /^([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$/i;

export function isMac(s: string): boolean {
  return MAC.test(s);
}

/** aa-BB-cc… → aa:bb:cc… */
export function normalizeMac(s: string): string {
  return s.toLowerCase().replaceAll('-', ':');
}
