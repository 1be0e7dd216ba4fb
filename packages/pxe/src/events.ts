/** Typed events and stats of the DHCP server, and the logger interface. */
import type { Lease } from './lease-store.js';

/** Optional logger; the library never prints. Each method gets a message and structured fields. */
export interface Logger {
  debug?(msg: string, fields?: Record<string, unknown>): void;
  info?(msg: string, fields?: Record<string, unknown>): void;
  warn?(msg: string, fields?: Record<string, unknown>): void;
  error?(msg: string, fields?: Record<string, unknown>): void;
}

/** `lease`: an address was offered, acked, refused (nak), released or declined. */
export interface LeaseEvent {
  type: 'offered' | 'acked' | 'nak' | 'released' | 'declined';
  mac: string;
  ip: string;
  /** Lease expiry in ms since the epoch (offered/acked). */
  expiresAt?: number;
}

/** `boot`: a boot file was handed to a machine. */
export interface BootEvent {
  mac: string;
  arch: number | null;
  /** The boot file or URL given. */
  loader: string;
  nextServer: string;
  isIpxe: boolean;
  /** Which answer carried it: the OFFER/ACK on port 67 or the proxyDHCP ACK on port 4011. */
  message: 'offer' | 'ack' | 'proxy-ack';
}

/** `dropped`: a packet that is not valid DHCP (counted in `stats().droppedByReason`). */
export interface DropEvent {
  reason: string;
  from: string;
  size: number;
}

/**
 * `ignored`: a valid request we chose not to answer. `unknown-subnet`: relayed (or renewing) from a
 * subnet not in `subnets`; `arch-unsupported` / `loader-missing`: the plan refused the firmware
 * (`detail` says why, e.g. `arm64, phase-1 is x86_64`).
 */
export interface IgnoreEvent {
  mac: string;
  reason:
    | 'not-boot-client'
    | 'no-plan'
    | 'other-server'
    | 'pool-exhausted'
    | 'unknown-subnet'
    | 'plan-error'
    | 'arch-unsupported'
    | 'loader-missing';
  /** What exactly, for the live view: the relay's address, the architecture and what is missing. */
  detail?: string;
}

/** Event map of {@link DhcpServer} (Node's typed EventEmitter). */
export interface DhcpServerEvents {
  lease: [LeaseEvent];
  boot: [BootEvent];
  dropped: [DropEvent];
  ignored: [IgnoreEvent];
}

/** Counters since start. */
export interface DhcpStats {
  received: number;
  replied: number;
  dropped: number;
  ignored: number;
  droppedByReason: Record<string, number>;
}

export type { Lease };
