/**
 * Option negotiation for a read request: RFC 2347 (OACK), RFC 2348 (blksize), RFC 2349 (timeout,
 * tsize), RFC 7440 (windowsize). Out-of-range or non-numeric values are ignored (left out of the OACK,
 * RFC 2347 §3) rather than trusted: the CVE list of TFTP servers is mostly option parsing.
 */
import {
  DEFAULT_BLOCK_SIZE,
  MAX_TIMEOUT_SECONDS,
  MAX_WINDOW_SIZE,
  MIN_BLOCK_SIZE,
  MIN_TIMEOUT_SECONDS,
} from './constants.js';

export interface NegotiationLimits {
  /** Largest blksize granted (already clamped to the path MTU by the caller). */
  maxBlockSize: number;
  /** Largest windowsize granted. */
  maxWindowSize: number;
  /** Client receive buffer one window may fill, in kernel bytes ({@link datagramCost}); at least one block. */
  windowBufferBytes: number;
  /** The client is reached over IPv6 (40-byte IP header instead of 20). */
  ipv6?: boolean;
  /** Size of what will be sent, bytes, for tsize. */
  size: number;
}

export interface NegotiatedOptions {
  blksize: number;
  windowsize: number;
  /** Client-asked retransmission timeout (RFC 2349), or undefined to keep the server's. */
  timeoutMs: number | undefined;
  /** tsize as answered, or undefined when the client did not ask. */
  tsize: number | undefined;
  /** The OACK to send, in request order; empty means answer as RFC 1350 (DATA 1 straight away). */
  oack: [string, string][];
}

/**
 * What one DATA datagram of `blksize` costs in a Linux receiver's socket buffer (`skb->truesize`, the
 * amount charged against `SO_RCVBUF`), measured on loopback (Linux 6.18, /proc/net/udp rx_queue after
 * one datagram): up to ~16 KiB the packet is one kmalloc'd buffer, rounded up to a power of two, plus
 * 256 bytes of `sk_buff` (512 → 1280, 1468 → 2304, 4096 → 8448, 8192 → 16640); larger ones are built
 * from page fragments and cost their length plus 832 (16384 → 17220, 65464 → 66300). So 212992 bytes
 * hold 166 blocks of 512 but only 12 of 8192 and 3 of 65464. A NIC driver's receive buffers cost about
 * the same for a 1500-byte frame (2–4 KiB).
 */
export function datagramCost(blksize: number, ipv6 = false): number {
  const udp = blksize + 4; // TFTP header
  const linear = udp + (ipv6 ? 48 : 28) + 31; // + IP/UDP headers + link-layer headroom; + 320 below: skb_shared_info
  if (linear < 16_064) return Math.max(832, 2 ** Math.ceil(Math.log2(linear + 320)) + 256);
  return udp + 832;
}

/** Strict decimal: no sign, no spaces, no hex, no exponent, at most 10 digits. */
function int(value: string): number | undefined {
  return /^[0-9]{1,10}$/.test(value) ? Number(value) : undefined;
}

/** Decides which requested options are granted and with what values. Pure. */
export function negotiate(
  requested: ReadonlyMap<string, string>,
  limits: NegotiationLimits,
): NegotiatedOptions {
  const out: NegotiatedOptions = {
    blksize: DEFAULT_BLOCK_SIZE,
    windowsize: 1,
    timeoutMs: undefined,
    tsize: undefined,
    oack: [],
  };
  for (const [name, value] of requested) {
    const n = int(value);
    switch (name) {
      case 'blksize': // RFC 2348: 8–65464; a larger ask is answered with what the server can do
        if (n === undefined || n < MIN_BLOCK_SIZE) break;
        out.blksize = Math.max(MIN_BLOCK_SIZE, Math.min(n, limits.maxBlockSize));
        out.oack.push([name, String(out.blksize)]);
        break;
      case 'timeout': // RFC 2349: 1–255 s, echoed unchanged or not at all
        if (n === undefined || n < MIN_TIMEOUT_SECONDS || n > MAX_TIMEOUT_SECONDS) break;
        out.timeoutMs = n * 1000;
        out.oack.push([name, String(n)]);
        break;
      case 'tsize': // RFC 2349: the client sends 0; answered whatever it sent (firmware needs the size)
        out.tsize = limits.size;
        out.oack.push([name, String(limits.size)]);
        break;
      case 'windowsize': // RFC 7440: 1–65535; the server may answer smaller (value set below)
        if (n === undefined || n < 1 || n > MAX_WINDOW_SIZE) break;
        out.windowsize = n;
        out.oack.push([name, '']);
        break;
      default: // unknown options (utimeout, multicast, rollover, …) are not acknowledged
        break;
    }
  }
  // A window must fit the receiver's socket buffer or its tail is lost every time, and a receiver only
  // acknowledges after `windowsize` blocks (RFC 7440 §4), so the cap applies when granting.
  const fits = Math.max(1, Math.floor(limits.windowBufferBytes / datagramCost(out.blksize, limits.ipv6)));
  out.windowsize = Math.max(1, Math.min(out.windowsize, limits.maxWindowSize, fits));
  for (const entry of out.oack) if (entry[0] === 'windowsize') entry[1] = String(out.windowsize);
  return out;
}
