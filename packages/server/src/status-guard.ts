/** Requests per second one source address may POST (status and log reports together). @default 5 */
export const DEFAULT_REPORT_RATE = 5;
/** Requests one source may send at once before the rate applies. @default 20 */
export const DEFAULT_REPORT_BURST = 20;
/** Source addresses whose buckets are remembered; the oldest is forgotten first. @default 4096 */
const MAX_SOURCES = 4096;

/** Options of {@link StatusGuard}. */
export interface StatusGuardOptions {
  /** @default DEFAULT_REPORT_RATE */
  rate?: number;
  /** @default DEFAULT_REPORT_BURST */
  burst?: number;
  /**
   * The MAC whose DHCP lease holds `ip` (undefined: no lease holds it), or null when there is no
   * lease table to check against (proxy mode, DHCP off): then any source may report for any MAC.
   */
  leaseOwner?: (ip: string) => string | null | undefined;
  now?: () => number;
}

/** Why a report was refused: the HTTP status and one line for the body. */
export interface Refusal {
  status: number;
  line: string;
  reason: 'rate' | 'lease';
}

/**
 * The gate in front of the agents' open POST routes (status and log): machines have no token, so a
 * report is accepted only from a source within its rate (a token bucket per address) and, where the
 * server hands out the addresses, only for the MAC whose lease holds that source address.
 */
export class StatusGuard {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly #rate: number;
  readonly #burst: number;
  readonly #now: () => number;
  /** Reports refused, by reason (for /metrics). */
  readonly refused = { rate: 0, lease: 0 };

  constructor(private readonly o: StatusGuardOptions = {}) {
    this.#rate = o.rate ?? DEFAULT_REPORT_RATE;
    this.#burst = o.burst ?? DEFAULT_REPORT_BURST;
    this.#now = o.now ?? Date.now;
  }

  /** null when `remote` may report for `mac` now; otherwise the refusal. Takes a token when admitted. */
  admit(mac: string, remote: string): Refusal | null {
    const now = this.#now();
    let b = this.#buckets.get(remote);
    if (b) this.#buckets.delete(remote);
    else {
      b = { tokens: this.#burst, at: now };
      if (this.#buckets.size >= MAX_SOURCES) this.#buckets.delete(this.#buckets.keys().next().value!);
    }
    this.#buckets.set(remote, b);
    b.tokens = Math.min(this.#burst, b.tokens + ((now - b.at) / 1000) * this.#rate);
    b.at = now;
    if (b.tokens < 1) {
      this.refused.rate++;
      return {
        status: 429,
        reason: 'rate',
        line: `too many reports from ${remote}: at most ${this.#rate} per second\n`,
      };
    }
    const owner = this.o.leaseOwner?.(remote);
    if (owner !== null && owner !== undefined && owner !== mac) {
      this.refused.lease++;
      return { status: 403, reason: 'lease', line: `${remote} is leased to ${owner}, not to ${mac}\n` };
    }
    if (owner === undefined && this.o.leaseOwner) {
      this.refused.lease++;
      return {
        status: 403,
        reason: 'lease',
        line: `no DHCP lease holds ${remote}: reports only from leased addresses\n`,
      };
    }
    b.tokens -= 1;
    return null;
  }
}
