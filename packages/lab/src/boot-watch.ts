// What a lab learns of each VM while the room boots: from the boot server's typed events (leases,
// the agents' phases and byte counts, where phase-1's runtime came from) and from the VMs' consoles.
import type { Logger } from './errors.js';
import { PHASE_MILESTONE, type Milestone, type VmTimeline } from './timeline.js';
import type { Vm } from './vm.js';

/**
 * The boot server's events a {@link BootWatch} reads. Each is the shape of the event of that `type`
 * in @boottorrent/server's `ServerEvent` (fields the watch does not read left out), so such an event
 * can be passed as it is; the lab depends on no server package.
 */
export type BootEvent =
  | { type: 'lease'; kind: string; mac: string }
  | {
      type: 'client';
      mac: string;
      /** What the change came from; `status` is a report of the machine's agent. */
      why: string;
      phase: string;
      ip?: string;
      /** The download's share done, 0–1. */
      progress?: number;
      bytesFromServer: number;
      bytesFromPeers: number;
      bytesFromWebSeed: number;
    }
  | {
      type: 'runtime';
      action: string;
      mac: string;
      /** redirect: the MAC of the VM sent to serve it. */
      peer?: string;
      /** have: where it came from, 'server' or "<ip> (<mac>)". */
      source?: string;
    };

/** Options of {@link BootWatch}. */
export interface BootWatchOptions {
  /** The VMs' MACs, in power-on order (VM `i` has `macs[i]`). */
  macs: readonly string[];
  /** Gets a line (info) for each VM that boots, fails or is powered off by a fault. */
  logger?: Logger;
  /** Fault: `power(index)` is called once, when VM `index` passes `atProgress` of its download. */
  kill?: { index: number; atProgress: number; power(index: number): void };
  /** Fault: powers off the first VM the server sends another to for the runtime, `afterMs` later. */
  killHolder?: { afterMs: number; power(index: number): void };
}

/** Follows each VM of a room from power-on to its OS: milestones, byte counts, faults, result. */
export class BootWatch {
  /** Each VM's timeline, by MAC. */
  readonly timelines = new Map<string, VmTimeline>();
  readonly #started = new Map<string, number>();
  readonly #o: BootWatchOptions;

  constructor(o: BootWatchOptions) {
    this.#o = o;
    o.macs.forEach((mac, index) =>
      this.timelines.set(mac, {
        index,
        mac,
        ok: false,
        killed: false,
        marks: {},
        bytesFromServer: 0,
        bytesFromPeers: 0,
        bytesFromWebSeed: 0,
        bytesUploaded: 0,
      }),
    );
  }

  /** Milestones count from each VM's power-on. */
  poweredOn(mac: string): void {
    this.#started.set(mac, Date.now());
  }

  /** Records milestone `m` of a powered-on VM, the first time only. */
  mark(mac: string, m: Milestone): void {
    const t = this.timelines.get(mac);
    const t0 = this.#started.get(mac);
    if (t && t0 !== undefined && t.marks[m] === undefined) t.marks[m] = (Date.now() - t0) / 1000;
  }

  /** Takes one server event: a DHCP ack, an agent's phase and byte counts (and the kill fault), the runtime's source. */
  event(e: BootEvent): void {
    if (e.type === 'lease') {
      if (e.kind === 'acked') this.mark(e.mac, 'dhcp');
      return;
    }
    if (e.type === 'runtime') return this.#runtime(e);
    const t = this.timelines.get(e.mac);
    const m = Object.hasOwn(PHASE_MILESTONE, e.phase) ? PHASE_MILESTONE[e.phase] : undefined;
    if (m) this.mark(e.mac, m);
    // phase-1 is up when its agent first reports in, whatever it reports.
    if (e.why === 'status') this.mark(e.mac, 'phase1');
    if (e.phase === 'error') this.#log(`vm ${e.mac}: agent error`);
    if (!t) return;
    t.ip = e.ip ?? t.ip;
    t.bytesFromServer = e.bytesFromServer;
    t.bytesFromPeers = e.bytesFromPeers;
    t.bytesFromWebSeed = e.bytesFromWebSeed;
    const k = this.#o.kill;
    if (
      k &&
      t.index === k.index &&
      !t.killed &&
      e.phase === 'downloading' &&
      (e.progress ?? 0) >= k.atProgress
    ) {
      t.killed = true;
      this.#log(
        `fault: powering off vm${t.index} at ${Math.round((e.progress ?? 0) * 100)}% of its download`,
      );
      k.power(t.index);
    }
  }

  #runtime(e: Extract<BootEvent, { type: 'runtime' }>): void {
    const t = this.timelines.get(e.mac);
    if (e.action === 'have' && t) t.runtimeFrom = e.source;
    const k = this.#o.killHolder;
    const holder = e.action === 'redirect' && e.peer ? this.timelines.get(e.peer) : undefined;
    if (!k || !holder || [...this.timelines.values()].some((v) => v.killed)) return;
    holder.killed = true;
    this.#log(`fault: powering off vm${holder.index} while it serves the runtime to ${e.mac}`);
    setTimeout(() => k.power(holder.index), k.afterMs);
  }

  /**
   * Waits until every VM printed `expect` on its console (its OS runs), powered off, or the time
   * is up; then names why each one that did not make it failed.
   */
  async waitForOs(
    vms: readonly Pick<Vm, 'name' | 'mac' | 'child' | 'output'>[],
    expect: RegExp,
    timeoutS: number,
    signal?: AbortSignal,
  ): Promise<void> {
    const deadline = Date.now() + timeoutS * 1000;
    for (;;) {
      if (signal?.aborted) break;
      let pending = 0;
      for (const vm of vms) {
        const t = this.timelines.get(vm.mac!)!;
        if (t.ok || t.killed || t.error) continue;
        if (expect.test(vm.output())) {
          this.mark(vm.mac!, 'booted');
          t.ok = true;
          this.#log(`${vm.name} booted its OS at ${t.marks.booted!.toFixed(1)} s`);
        } else if (vm.child.exitCode !== null) {
          t.error = `VM powered off before its OS printed ${expect}`;
        } else pending++;
      }
      if (pending === 0 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    for (const t of this.timelines.values())
      if (!t.ok && !t.killed && !t.error)
        t.error = signal?.aborted ? 'interrupted' : `no OS within ${timeoutS} s`;
  }

  #log(line: string): void {
    this.#o.logger?.info?.(line);
  }
}
