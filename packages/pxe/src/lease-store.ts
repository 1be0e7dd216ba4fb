/**
 * The address pool and its leases, persisted to a JSON file with atomic writes (temp file, fsync,
 * rename, fsync of the folder). Writes are group-committed: every change waiting while a write
 * runs goes out in the next one, so an ACK can wait for its lease to be on disk without one write
 * per ACK.
 */
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DEFAULT_DECLINE_QUARANTINE_MS, DEFAULT_OFFER_HOLD_MS } from './constants.js';
import { PxeError, PxeErrorCode } from './errors.js';
import { ipToNumber, isIpv4, numberToIp } from './ip.js';

/** A lease as reported by `leases()` and the `lease` event. */
export interface Lease {
  mac: string;
  ip: string;
  /** Expiry, ms since the epoch. */
  expiresAt: number;
  /** `offered`: held for a pending REQUEST; `bound`: ACKed; `free`: released or expired, remembered for the MAC. */
  state: 'offered' | 'bound' | 'free';
}

interface Entry {
  mac: string;
  ip: number;
  expiresAt: number;
  state: Lease['state'];
}

interface LeaseFile {
  version: 1;
  leases: { mac: string; ip: string; expiresAt: number; state: 'bound' | 'free' }[];
  declined: { ip: string; until: number }[];
}

/**
 * A pool of a subnet behind a DHCP relay (RFC 2131 §4.3.1: the server picks the pool by giaddr):
 * its range and the subnet it lies in, as numbers.
 */
export interface RelayPool {
  start: number;
  end: number;
  network: number;
  mask: number;
}

export interface LeaseStoreOptions {
  /** The pool of the served interface's own subnet. */
  start: number;
  end: number;
  /** Pools of relayed subnets; their ranges never overlap the first pool. @default [] */
  relayPools?: readonly RelayPool[];
  /** Addresses never handed out from the pool (the server's own). */
  exclude: number[];
  reservations: Map<string, number>;
  leaseTimeMs: number;
  file?: string;
  now?: () => number;
  offerHoldMs?: number;
  quarantineMs?: number;
}

export class LeaseStore {
  private readonly byMac = new Map<string, Entry>();
  private readonly byIp = new Map<number, Entry>();
  private readonly declined = new Map<number, number>();
  private readonly reservedIps = new Map<number, string>();
  private readonly now: () => number;
  private readonly cursors = new Map<number, number>();
  private readonly local: RelayPool;
  private current: Promise<void> = Promise.resolve();
  private queued: Promise<void> | null = null;

  constructor(private readonly o: LeaseStoreOptions) {
    this.now = o.now ?? Date.now;
    this.local = { start: o.start, end: o.end, network: 0, mask: 0 };
    for (const [mac, ip] of o.reservations) this.reservedIps.set(ip, mac);
  }

  private live(e: Entry, now: number): boolean {
    return e.state !== 'free' && e.expiresAt > now;
  }

  private inAnyPool(ip: number): boolean {
    const inRange = (p: { start: number; end: number }) => ip >= p.start && ip <= p.end;
    return inRange(this.local) || (this.o.relayPools ?? []).some(inRange);
  }

  /** True when `ip` may be given to `mac` now (from `pool` when given, else from any pool). */
  availableFor(ip: number, mac: string, pool?: RelayPool): boolean {
    const now = this.now();
    const reservedFor = this.reservedIps.get(ip);
    if (reservedFor !== undefined) return reservedFor === mac;
    const inPool = pool ? ip >= pool.start && ip <= pool.end : this.inAnyPool(ip);
    if (!inPool || this.o.exclude.includes(ip)) return false;
    if ((this.declined.get(ip) ?? 0) > now) return false;
    const e = this.byIp.get(ip);
    return e === undefined || e.mac === mac || !this.live(e, now);
  }

  /** Whether a reservation applies where the client is: in its relayed subnet, or in none of them. */
  private reservationHere(ip: number, pool: RelayPool | undefined): boolean {
    const inNet = (p: RelayPool) => (ip & p.mask) >>> 0 === p.network;
    return pool ? inNet(pool) : !(this.o.relayPools ?? []).some(inNet);
  }

  private pick(mac: string, requested: number | null, pool: RelayPool | undefined): number | null {
    const reserved = this.o.reservations.get(mac);
    if (reserved !== undefined && this.reservationHere(reserved, pool))
      return (this.declined.get(reserved) ?? 0) > this.now() ? null : reserved;
    const p = pool ?? this.local;
    const mine = this.byMac.get(mac);
    if (mine && this.availableFor(mine.ip, mac, p)) return mine.ip;
    if (requested !== null && this.availableFor(requested, mac, p)) return requested;
    const size = p.end - p.start + 1;
    const cursor = this.cursors.get(p.start) ?? p.start;
    for (let i = 0; i < size; i++) {
      const ip = p.start + ((cursor - p.start + i) % size);
      if (!this.byIp.has(ip) && this.availableFor(ip, mac, p)) {
        this.cursors.set(p.start, ip + 1 > p.end ? p.start : ip + 1);
        return ip;
      }
    }
    // Pool full of remembered leases: reclaim the one that ended longest ago.
    let best: Entry | null = null;
    for (const e of this.byIp.values()) {
      if (this.availableFor(e.ip, mac, p) && (best === null || e.expiresAt < best.expiresAt)) best = e;
    }
    return best?.ip ?? null;
  }

  private assign(mac: string, ip: number, state: Lease['state'], expiresAt: number): Entry {
    const old = this.byMac.get(mac);
    if (old && old.ip !== ip && this.byIp.get(old.ip) === old) this.byIp.delete(old.ip);
    const other = this.byIp.get(ip);
    if (other && other.mac !== mac) this.byMac.delete(other.mac);
    const e: Entry = { mac, ip, state, expiresAt };
    this.byMac.set(mac, e);
    this.byIp.set(ip, e);
    return e;
  }

  /**
   * Picks an address for a DISCOVER and holds it; null when the pool is exhausted. `pool` is the
   * relayed subnet's pool; without it the address comes from the interface's own pool.
   */
  offer(mac: string, requested: string | null, pool?: RelayPool): Lease | null {
    const req = requested !== null && isIpv4(requested) ? ipToNumber(requested) : null;
    const ip = this.pick(mac, req, pool);
    if (ip === null) return null;
    const now = this.now();
    const cur = this.byMac.get(mac);
    if (cur && cur.ip === ip && cur.state === 'bound' && cur.expiresAt > now) return toLease(cur);
    return toLease(this.assign(mac, ip, 'offered', now + (this.o.offerHoldMs ?? DEFAULT_OFFER_HOLD_MS)));
  }

  /** Binds `ip` to `mac` for the lease time (REQUEST → ACK); null when the address is not theirs to have. */
  commit(mac: string, ip: string, leaseTimeMs = this.o.leaseTimeMs): Lease | null {
    const n = ipToNumber(ip);
    if (!this.availableFor(n, mac)) return null;
    const e = this.assign(mac, n, 'bound', this.now() + leaseTimeMs);
    void this.save().catch(() => undefined);
    return toLease(e);
  }

  /** Forgets a pending offer (the client chose another server). */
  cancelOffer(mac: string): void {
    const e = this.byMac.get(mac);
    if (e?.state === 'offered') e.state = 'free';
  }

  /** RELEASE: the address returns to the pool but stays remembered for this MAC. */
  release(mac: string, ip: string): Lease | null {
    const e = this.byMac.get(mac);
    if (!e || !isIpv4(ip) || e.ip !== ipToNumber(ip) || e.state !== 'bound') return null;
    e.state = 'free';
    e.expiresAt = this.now();
    void this.save().catch(() => undefined);
    return toLease(e);
  }

  /** DECLINE: the address is in use by someone else; keep it out of the pool for a while. */
  decline(mac: string, ip: string): boolean {
    if (!isIpv4(ip)) return false;
    const n = ipToNumber(ip);
    const e = this.byIp.get(n);
    if (!e || e.mac !== mac) return false;
    this.byIp.delete(n);
    this.byMac.delete(mac);
    this.declined.set(n, this.now() + (this.o.quarantineMs ?? DEFAULT_DECLINE_QUARANTINE_MS));
    void this.save().catch(() => undefined);
    return true;
  }

  /** The lease of `mac`, if any. */
  get(mac: string): Lease | null {
    const e = this.byMac.get(mac);
    return e ? toLease(e) : null;
  }

  /** All known leases (offered, bound and remembered). */
  list(): Lease[] {
    return [...this.byMac.values()].map(toLease);
  }

  /** Loads the lease file (a missing file is an empty store). Entries the pool no longer allows are dropped. */
  async load(): Promise<void> {
    if (!this.o.file) return;
    let text: string;
    try {
      text = await readFile(this.o.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new PxeError(
        PxeErrorCode.LeaseFile,
        `cannot read lease file ${this.o.file}: ${(e as Error).message}`,
        {
          cause: e,
          hint: 'check the path and its permissions',
        },
      );
    }
    let data: LeaseFile;
    try {
      data = JSON.parse(text) as LeaseFile;
      if (data.version !== 1 || !Array.isArray(data.leases)) throw new Error('not a version 1 lease file');
    } catch (e) {
      throw new PxeError(
        PxeErrorCode.LeaseFile,
        `lease file ${this.o.file} is corrupt (${(e as Error).message})`,
        { cause: e, hint: 'move it away to start with no leases' },
      );
    }
    for (const l of data.leases) {
      if (typeof l.mac !== 'string' || !isIpv4(l.ip) || typeof l.expiresAt !== 'number') continue;
      const ip = ipToNumber(l.ip);
      if (!this.availableFor(ip, l.mac)) continue;
      this.assign(l.mac, ip, l.state === 'bound' ? 'bound' : 'free', l.expiresAt);
    }
    for (const d of data.declined ?? []) if (isIpv4(d.ip)) this.declined.set(ipToNumber(d.ip), d.until);
  }

  /** Writes the store to disk (group commit); resolves once a write containing every change so far is durable. */
  save(): Promise<void> {
    if (!this.o.file) return Promise.resolve();
    if (this.queued) return this.queued;
    const q = this.current
      .catch(() => undefined)
      .then(() => {
        this.queued = null;
        return this.writeNow(this.o.file as string);
      });
    this.queued = q;
    this.current = q;
    return q;
  }

  private async writeNow(file: string): Promise<void> {
    const data: LeaseFile = {
      version: 1,
      leases: [...this.byMac.values()]
        .filter((e) => e.state !== 'offered')
        .map((e) => ({
          mac: e.mac,
          ip: numberToIp(e.ip),
          expiresAt: e.expiresAt,
          state: e.state as 'bound' | 'free',
        })),
      declined: [...this.declined].map(([ip, until]) => ({ ip: numberToIp(ip), until })),
    };
    const tmp = `${file}.tmp-${process.pid}`;
    try {
      const fh = await open(tmp, 'w', 0o644);
      try {
        await fh.writeFile(`${JSON.stringify(data, null, 1)}\n`);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, file);
      const dir = await open(dirname(file), 'r');
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw new PxeError(PxeErrorCode.LeaseFile, `cannot write lease file ${file}: ${(e as Error).message}`, {
        cause: e,
        hint: 'check that its folder exists and is writable',
      });
    }
  }
}

function toLease(e: Entry): Lease {
  return { mac: e.mac, ip: numberToIp(e.ip), expiresAt: e.expiresAt, state: e.state };
}
