/**
 * The largest blksize that fits the path MTU without IP fragmentation (RFC 2348 §1 recommends
 * avoiding it; fragment loss costs a whole block). The transfer socket is connected to the client, so
 * its local address names the interface the kernel routes through; Linux exposes that interface's MTU
 * in /sys/class/net/<name>/mtu. Elsewhere (or when unknown) no MTU clamp applies.
 */
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';

const cache = new Map<string, { mtu: number | undefined; at: number }>();
const CACHE_MS = 30_000;

/** MTU of the interface holding `localAddress`, or undefined. Cached for 30 s. */
export function interfaceMtu(localAddress: string, now = Date.now()): number | undefined {
  const hit = cache.get(localAddress);
  if (hit && now - hit.at < CACHE_MS) return hit.mtu;
  let mtu: number | undefined;
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    if (!addrs?.some((a) => a.address === localAddress)) continue;
    try {
      const value = Number(readFileSync(`/sys/class/net/${name}/mtu`, 'utf8').trim());
      if (Number.isInteger(value) && value >= 68) mtu = value;
    } catch {
      // not Linux, or the interface vanished: no clamp
    }
    break;
  }
  cache.set(localAddress, { mtu, at: now });
  return mtu;
}

/** blksize that fills one datagram of `mtu`: less the IP header, 8 bytes UDP and 4 bytes TFTP. */
export function blockSizeForMtu(mtu: number, ipv6: boolean): number {
  return mtu - (ipv6 ? 40 : 20) - 8 - 4;
}
