/**
 * Where each client gets phase-1's runtime (Node + agent) from: a peer that holds it and has a free
 * upload slot, else this server (at most `serverSlots` at once), else "wait a second". Pure: no
 * sockets, the clock is injected, so tests drive it with a fake one.
 */

/**
 * Concurrent runtime downloads the server serves itself. One copy at full speed makes the first
 * holder soonest (storm benchmark, N = 16 at 20 Mbit/s: 2 copies from the server in all). @default 1
 */
export const DEFAULT_RUNTIME_SERVER_SLOTS = 1;
/**
 * Boot loader files (kernel, base, payload) the server sends at once, first come first served
 * ({@link ArrivalGate}); its runtime copies go first. With 1 the machines finish their boot loader's
 * files one after another and pass the runtime on while the server sends the rest (storm benchmark,
 * N = 16: 113.9 s against 141.6 s with no gate). @default 1
 */
export const DEFAULT_LOADER_SLOTS = 1;
/** Concurrent runtime downloads each holder serves (its upload slots). @default 1 */
export const DEFAULT_RUNTIME_PEER_SLOTS = 1;
/**
 * A client that has waited this long while holders exist is served by the server (if it has a free
 * slot) rather than wait on. @default 30000
 */
export const DEFAULT_RUNTIME_MAX_WAIT_MS = 30_000;
/** An assignment not finished after this long frees its slot (the client went away). @default 120000 */
export const DEFAULT_RUNTIME_ASSIGN_TIMEOUT_MS = 120_000;
/**
 * After the server sent a whole copy, how long the others wait for that client to check it and say
 * it holds it (hash, httpd, POST have) before the server sends another copy. Without this wait the
 * next client to ask in that gap got a second copy (storm benchmark, N = 16: +29 MB, +12 s).
 * @default 10000
 */
export const DEFAULT_RUNTIME_HAVE_GRACE_MS = 10_000;

/**
 * How long a holder that a client left (no byte for the script's stall time, or a failed fetch) is
 * passed over. It stays a holder: a holder's link also carries its BitTorrent traffic and can go
 * quiet for a few seconds, and dropping the only holder for good made the server send another copy
 * (storm benchmark, N = 16: +29 MB on the server's link). @default 5000
 */
export const DEFAULT_RUNTIME_SUSPECT_MS = 5_000;
/**
 * Stalls or failed fetches in a row (no client finished a download from it in between) after which a
 * holder is dropped: it is gone or hopelessly slow. Bad bytes drop it at once, for good. @default 3
 */
export const DEFAULT_RUNTIME_MAX_STRIKES = 3;

/**
 * How long a client waits for a holder whose uplink is free before it is sent to one that downloads
 * or seeds its OS, while another runtime copy is under way (a new holder is coming). A holder busy
 * with BitTorrent shares its uplink with it: storm benchmark, N = 16, late copies from such holders
 * took up to 31 s (28–37 s before this rule) against 13–19 s from holders still unpacking. With no
 * copy under way the client goes to the busy holder at once: nothing better is coming. @default 5000
 */
export const DEFAULT_RUNTIME_BUSY_HOLDER_WAIT_MS = 5_000;

/**
 * A waiting client that asked again within this long still counts as waiting in the queue: free
 * sources go to the clients that have waited longest first (the runtime script asks again a second
 * after a 503; more under load).
 */
export const RUNTIME_POLL_GRACE_MS = 3_000;

/** Why a client asks again: the last source failed it. */
export type RuntimeFailure = 'hash' | 'stall' | 'error';

/** Options of {@link RuntimeScheduler}. */
export interface RuntimeSchedulerOptions {
  /** @default DEFAULT_RUNTIME_SERVER_SLOTS */
  serverSlots?: number;
  /** @default DEFAULT_RUNTIME_PEER_SLOTS */
  peerSlots?: number;
  /** @default DEFAULT_RUNTIME_MAX_WAIT_MS */
  maxWaitMs?: number;
  /** @default DEFAULT_RUNTIME_ASSIGN_TIMEOUT_MS */
  assignTimeoutMs?: number;
  /** @default DEFAULT_RUNTIME_HAVE_GRACE_MS */
  haveGraceMs?: number;
  /** @default DEFAULT_RUNTIME_SUSPECT_MS */
  suspectMs?: number;
  /** @default DEFAULT_RUNTIME_MAX_STRIKES */
  maxStrikes?: number;
  /** @default DEFAULT_RUNTIME_BUSY_HOLDER_WAIT_MS */
  busyHolderWaitMs?: number;
  /**
   * Whether a holder's machine downloads or seeds its OS (BitTorrent shares its uplink, so it serves
   * the runtime slowly). Holders that are not are preferred. @default () => false
   */
  holderBusy?: (mac: string) => boolean;
  /** ms clock. @default Date.now */
  now?: () => number;
}

/** A client that holds the runtime and serves it. */
export interface RuntimeHolder {
  mac: string;
  ip: string;
  port: number;
  /** Downloads it is serving now (assigned, not yet finished). */
  busy: number;
  /** Downloads it finished serving (the client checked the hash and said so). */
  served: number;
  since: number;
  /** Stalls and failed fetches since its last finished serve. */
  strikes: number;
  /** Passed over until this time (ms), after a stall or a failed fetch. */
  suspectUntil: number;
}

/** The scheduler's answer to one request. */
export type RuntimeSource =
  | { kind: 'server' }
  | { kind: 'peer'; holder: Readonly<RuntimeHolder> }
  | { kind: 'wait'; retryAfterS: number };

/** Counters for the API and the live view. */
export interface RuntimeStats {
  holders: number;
  serverBusy: number;
  peerBusy: number;
  waiting: number;
  redirects: number;
  fromServer: number;
  fromPeers: number;
  failures: Record<RuntimeFailure, number>;
  /** Stalls and failed fetches that made a holder suspect for a while (it stayed a holder). */
  suspected: number;
  /** Holders dropped: bad bytes (banned for good), dead or slow (maxStrikes in a row), or gone to their OS. */
  dropped: { hash: number; stall: number; error: number; left: number };
}

interface Assignment {
  source: 'server' | string;
  at: number;
  /** The server's response closed (its slot is free again). */
  sent?: boolean;
  /** When the server's whole copy was sent (the client is checking it; a holder is coming). */
  sentWhole?: number;
}

export class RuntimeScheduler {
  readonly serverSlots: number;
  readonly peerSlots: number;
  readonly #maxWait: number;
  readonly #assignTimeout: number;
  readonly #haveGrace: number;
  readonly #suspect: number;
  readonly #maxStrikes: number;
  readonly #busyHolderWait: number;
  readonly #holderBusy: (mac: string) => boolean;
  readonly #now: () => number;
  readonly #holders = new Map<string, RuntimeHolder>();
  readonly #assigned = new Map<string, Assignment>();
  /** When each still-unserved client started waiting: its first ask, or its last source failing it. */
  readonly #waitingSince = new Map<string, number>();
  /** When each still-unserved client last asked. */
  readonly #lastAsk = new Map<string, number>();
  readonly #banned = new Set<string>();
  /** Where each client's runtime came from: 'server' or the holder's MAC. */
  readonly #sourceOf = new Map<string, string>();
  #serverBusy = 0;
  readonly #stats: Omit<RuntimeStats, 'holders' | 'serverBusy' | 'peerBusy' | 'waiting'> = {
    redirects: 0,
    fromServer: 0,
    fromPeers: 0,
    failures: { hash: 0, stall: 0, error: 0 },
    suspected: 0,
    dropped: { hash: 0, stall: 0, error: 0, left: 0 },
  };

  constructor(o: RuntimeSchedulerOptions = {}) {
    this.serverSlots = o.serverSlots ?? DEFAULT_RUNTIME_SERVER_SLOTS;
    this.peerSlots = o.peerSlots ?? DEFAULT_RUNTIME_PEER_SLOTS;
    this.#maxWait = o.maxWaitMs ?? DEFAULT_RUNTIME_MAX_WAIT_MS;
    this.#assignTimeout = o.assignTimeoutMs ?? DEFAULT_RUNTIME_ASSIGN_TIMEOUT_MS;
    this.#haveGrace = o.haveGraceMs ?? DEFAULT_RUNTIME_HAVE_GRACE_MS;
    this.#suspect = o.suspectMs ?? DEFAULT_RUNTIME_SUSPECT_MS;
    this.#maxStrikes = o.maxStrikes ?? DEFAULT_RUNTIME_MAX_STRIKES;
    this.#busyHolderWait = o.busyHolderWaitMs ?? DEFAULT_RUNTIME_BUSY_HOLDER_WAIT_MS;
    this.#holderBusy = o.holderBusy ?? (() => false);
    this.#now = o.now ?? Date.now;
  }

  /**
   * `mac` asks for the runtime (`failed`: its last source failed it: a holder that sent bad bytes is
   * dropped and banned for good; one that stalled or failed is passed over for `suspectMs`, and
   * dropped after `maxStrikes` such failures in a row). A holder with a free slot whose machine is
   * not busy with its OS wins (least busy, then newest: a machine that just got the runtime is
   * unpacking it and starting its agent, its uplink idle, while older holders upload the OS to the
   * swarm; storm benchmark, N = 16: runtime copies from the oldest holders took 20–34 s late in the
   * run against 13 s from idle ones). The server serves while no holder is alive or coming (a whole
   * copy it sent less than `haveGraceMs` ago), or when the client has waited `maxWaitMs` (counted
   * from its first ask or from its last source failing it: time spent downloading from a peer is not
   * waiting). Else a free holder busy with its OS: at once when no other copy is under way, else
   * (a new, idle holder is coming) once the client has waited `busyHolderWaitMs`. Free sources go to
   * the clients that have waited longest first (those still asking, see RUNTIME_POLL_GRACE_MS).
   */
  pick(mac: string, failed?: RuntimeFailure): RuntimeSource {
    const now = this.#now();
    this.#expire(now);
    const prev = this.#assigned.get(mac);
    if (prev) {
      this.#assigned.delete(mac);
      if (prev.source !== 'server') {
        const h = this.#holders.get(prev.source);
        if (h) h.busy--;
        if (failed === 'hash') this.#drop(prev.source, failed);
        else if (failed && h) this.#strike(h, failed, now);
      }
      // A server assignment's slot is freed by serverDone() when the response closes.
      this.#waitingSince.set(mac, now);
    }
    if (failed) this.#stats.failures[failed]++;
    this.#waitingSince.set(mac, this.#waitingSince.get(mac) ?? now);

    this.#lastAsk.set(mac, now);

    // Free holders whose uplink is free of BitTorrent, and busy ones, best first (least busy, newest).
    const fresh: RuntimeHolder[] = [];
    const busy: RuntimeHolder[] = [];
    // Newest first, so that holders that said so at the same moment keep that order in the sort.
    for (const h of [...this.#holders.values()].reverse()) {
      if (h.mac === mac || h.busy >= this.peerSlots || h.suspectUntil > now) continue;
      (this.#holderBusy(h.mac) ? busy : fresh).push(h);
    }
    const order = (a: RuntimeHolder, b: RuntimeHolder) => a.busy - b.busy || b.since - a.since;
    fresh.sort(order);
    busy.sort(order);
    // First come, first served: clients that have waited longer (and still ask) go first, each to
    // the best source left; this one gets what they leave.
    let ahead = this.#waitersAhead(mac, now);
    if (ahead < fresh.length) return this.#toPeer(mac, fresh[ahead]!, now);
    ahead -= fresh.length;
    const waited = now - this.#waitingSince.get(mac)!;
    const othersHold = this.#holders.size > (this.#holders.has(mac) ? 1 : 0);
    const coming = this.#holderComing(mac, now);
    if (this.#serverBusy < this.serverSlots && ((!othersHold && !coming) || waited >= this.#maxWait))
      return this.#toServer(mac, now);
    const underWay = this.#copyUnderWay(mac, now);
    if ((!underWay || waited >= this.#busyHolderWait) && ahead < busy.length)
      return this.#toPeer(mac, busy[ahead]!, now);
    return { kind: 'wait', retryAfterS: 1 };
  }

  /** Clients still asking (within RUNTIME_POLL_GRACE_MS) that have waited longer than `mac`. */
  #waitersAhead(mac: string, now: number): number {
    const mine = this.#waitingSince.get(mac)!;
    let n = 0;
    for (const [m, since] of this.#waitingSince) {
      if (m === mac || this.#assigned.has(m)) continue;
      if (now - (this.#lastAsk.get(m) ?? -Infinity) > RUNTIME_POLL_GRACE_MS) continue;
      if (since < mine || (since === mine && m < mac)) n++;
    }
    return n;
  }

  #toPeer(mac: string, h: RuntimeHolder, now: number): RuntimeSource {
    h.busy++;
    this.#assigned.set(mac, { source: h.mac, at: now });
    this.#stats.redirects++;
    return { kind: 'peer', holder: { ...h } };
  }

  #toServer(mac: string, now: number): RuntimeSource {
    this.#serverBusy++;
    this.#assigned.set(mac, { source: 'server', at: now });
    return { kind: 'server' };
  }

  /**
   * The server's response to `mac` closed: its slot is free. `whole`: every byte was sent, so `mac`
   * is about to become a holder and the others wait `haveGraceMs` for it rather than get a copy.
   */
  serverDone(mac: string, whole = false): void {
    if (this.#serverBusy > 0) this.#serverBusy--;
    const a = this.#assigned.get(mac);
    // Keep the assignment (for the source record) until have(); only the slot is freed here.
    if (a?.source === 'server') {
      a.sent = true;
      if (whole) a.sentWhole = this.#now();
    }
  }

  /**
   * `mac` checked the runtime's hash and serves it at ip:port: its download is finished, it is a
   * holder now. Returns where its runtime came from ('server' or the holder's MAC).
   */
  have(mac: string, ip: string, port: number): string {
    const a = this.#assigned.get(mac);
    this.#assigned.delete(mac);
    this.#waitingSince.delete(mac);
    this.#lastAsk.delete(mac);
    const source = a?.source ?? 'server';
    if (a && a.source !== 'server') {
      const h = this.#holders.get(a.source);
      if (h) {
        h.busy--;
        h.served++;
        h.strikes = 0;
      }
      this.#stats.fromPeers++;
    } else this.#stats.fromServer++;
    this.#sourceOf.set(mac, source);
    if (!this.#banned.has(mac)) {
      const old = this.#holders.get(mac);
      this.#holders.set(mac, {
        mac,
        ip,
        port,
        busy: old?.busy ?? 0,
        served: old?.served ?? 0,
        since: this.#now(),
        strikes: 0,
        suspectUntil: 0,
      });
    }
    return source;
  }

  /**
   * `mac` left (loads its OS, or booted again): it serves no more, and it starts over as a client.
   * A machine that rebooted or died while it waited would otherwise keep its place in the queue
   * (and, back again, count as having waited since its last boot), and a holder it was sent to would
   * keep a slot for it until `assignTimeoutMs`. A server copy under way still holds its server slot
   * until serverDone(): the response closes with the machine's connection.
   */
  forget(mac: string): void {
    if (this.#holders.has(mac)) this.#drop(mac, 'left');
    const a = this.#assigned.get(mac);
    this.#assigned.delete(mac);
    if (a && a.source !== 'server') {
      const h = this.#holders.get(a.source);
      if (h) h.busy--;
    }
    this.#waitingSince.delete(mac);
    this.#lastAsk.delete(mac);
  }

  /** Where `mac`'s runtime came from ('server' or a holder's MAC), once it said it has it. */
  sourceOf(mac: string): string | undefined {
    return this.#sourceOf.get(mac);
  }

  holders(): RuntimeHolder[] {
    return [...this.#holders.values()].map((h) => ({ ...h }));
  }

  stats(): RuntimeStats {
    let peerBusy = 0;
    for (const h of this.#holders.values()) peerBusy += h.busy;
    return {
      holders: this.#holders.size,
      serverBusy: this.#serverBusy,
      peerBusy,
      waiting: this.#waitingSince.size - this.#assigned.size,
      ...structuredClone(this.#stats),
    };
  }

  /** Another client got a whole copy from the server less than `haveGraceMs` ago, and has not said it holds it. */
  #holderComing(mac: string, now: number): boolean {
    for (const [m, a] of this.#assigned)
      if (m !== mac && a.sentWhole !== undefined && now - a.sentWhole < this.#haveGrace) return true;
    return false;
  }

  /**
   * Another client's copy is under way, so a holder is coming: a download from a peer, a server copy
   * being sent, or one sent whole less than `haveGraceMs` ago.
   */
  #copyUnderWay(mac: string, now: number): boolean {
    for (const [m, a] of this.#assigned) {
      if (m === mac) continue;
      if (a.source !== 'server' || !a.sent) return true;
      if (a.sentWhole !== undefined && now - a.sentWhole < this.#haveGrace) return true;
    }
    return false;
  }

  /** A client left `h` for a stall or a failed fetch: pass it over for a while, or drop it after maxStrikes. */
  #strike(h: RuntimeHolder, why: 'stall' | 'error', now: number): void {
    if (++h.strikes >= this.#maxStrikes) return this.#drop(h.mac, why);
    h.suspectUntil = now + this.#suspect;
    this.#stats.suspected++;
  }

  #drop(mac: string, why: RuntimeFailure | 'left'): void {
    if (!this.#holders.delete(mac)) return;
    this.#stats.dropped[why]++;
    if (why === 'hash') this.#banned.add(mac);
    // Clients it was serving will come back with failed=…; their slots went with it.
  }

  #expire(now: number): void {
    for (const [mac, a] of this.#assigned) {
      if ((a.source === 'server' && !a.sent) || now - a.at < this.#assignTimeout) continue;
      this.#assigned.delete(mac);
      const h = this.#holders.get(a.source);
      if (h) h.busy--;
    }
  }
}

/**
 * A first-come gate for what the boot loader fetches (kernel, base, payload): at most `slots` files
 * are sent at once, and a freed slot goes to the machine that asked first (by its first request), not
 * to whoever asked last. Machines then finish their boot loader's files one after another instead of
 * all together at the end, so the first ones fetch the runtime from each other while the server is
 * still sending the rest. 0 slots: no gate.
 */
export class ArrivalGate {
  readonly #rank = new Map<string, number>();
  #next = 0;
  #busy = 0;
  #waiting: { rank: number; go: () => void }[] = [];

  constructor(readonly slots: number) {}

  /** Files being sent through the gate, plus requests queued for it. */
  get inUse(): number {
    return this.#busy + this.#waiting.length;
  }

  /**
   * Resolves with a release function once `who` may send; `signal` drops a request that went away.
   * `first`: ahead of every machine (the runtime's first copies: each makes a new source).
   */
  acquire(who: string, signal?: AbortSignal, first = false): Promise<() => void> {
    let rank = this.#rank.get(who);
    if (rank === undefined) this.#rank.set(who, (rank = this.#next++));
    if (first) rank = -1;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.#busy--;
      this.#waiting.sort((a, b) => a.rank - b.rank);
      this.#waiting.shift()?.go();
    };
    if (this.slots <= 0 || this.#busy < this.slots) {
      this.#busy++;
      return Promise.resolve(release);
    }
    return new Promise((resolve, reject) => {
      const entry = {
        rank,
        go: () => {
          this.#busy++;
          resolve(release);
        },
      };
      this.#waiting.push(entry);
      signal?.addEventListener('abort', () => {
        this.#waiting = this.#waiting.filter((w) => w !== entry);
        reject(new Error('request went away'));
      });
    });
  }

  /** Requests waiting for a slot. */
  waiting(): number {
    return this.#waiting.length;
  }
}
