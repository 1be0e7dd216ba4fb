import type { EventEmitter } from 'node:events';
import type { Vm } from '@boottorrent/lab';
import type { ServerEvent } from '@boottorrent/server';
import { PHASE_MILESTONE, type Milestone, type VmTimeline } from './timeline.js';

/** What the lab learns of each VM, from the server's typed events and from the VM's console. */
export class BootWatch {
  readonly timelines = new Map<string, VmTimeline>();
  readonly #started = new Map<string, number>();

  constructor(
    readonly macs: readonly string[],
    private readonly log: (line: string) => void,
    /** Fault: called once when VM `index` passes `atProgress` of its download. */
    private readonly kill?: { index: number; atProgress: number; power(index: number): void },
    /** Fault: powers off the first VM the server sends another to for the runtime, `afterMs` later. */
    private readonly killHolder?: { afterMs: number; power(index: number): void },
  ) {
    macs.forEach((mac, index) =>
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

  mark(mac: string, m: Milestone): void {
    const t = this.timelines.get(mac);
    const t0 = this.#started.get(mac);
    if (t && t0 !== undefined && t.marks[m] === undefined) t.marks[m] = (Date.now() - t0) / 1000;
  }

  /** Follows the server: DHCP acks, the agents' phases and byte counts, and the kill fault. */
  follow(events: EventEmitter<{ event: [ServerEvent] }>): void {
    events.on('event', (e) => {
      if (e.type === 'lease' && e.kind === 'acked') this.mark(e.mac, 'dhcp');
      if (e.type === 'runtime') return this.#runtime(e);
      if (e.type !== 'client') return;
      const t = this.timelines.get(e.mac);
      const m = PHASE_MILESTONE[e.phase as keyof typeof PHASE_MILESTONE];
      if (m) this.mark(e.mac, m);
      // phase-1 is up when its agent first reports in, whatever it reports.
      if (e.why === 'status') this.mark(e.mac, 'phase1');
      if (e.phase === 'error') this.log(`vm ${e.mac}: agent error`);
      if (!t) return;
      t.ip = e.ip ?? t.ip;
      t.bytesFromServer = e.bytesFromServer;
      t.bytesFromPeers = e.bytesFromPeers;
      t.bytesFromWebSeed = e.bytesFromWebSeed;
      const k = this.kill;
      if (
        k &&
        t.index === k.index &&
        !t.killed &&
        e.phase === 'downloading' &&
        (e.progress ?? 0) >= k.atProgress
      ) {
        t.killed = true;
        this.log(
          `fault: powering off vm${t.index} at ${Math.round((e.progress ?? 0) * 100)}% of its download`,
        );
        k.power(t.index);
      }
    });
  }

  #runtime(e: Extract<ServerEvent, { type: 'runtime' }>): void {
    const t = this.timelines.get(e.mac);
    if (e.action === 'have' && t) t.runtimeFrom = e.source;
    const k = this.killHolder;
    const holder = e.action === 'redirect' && e.peer ? this.timelines.get(e.peer) : undefined;
    if (!k || !holder || [...this.timelines.values()].some((v) => v.killed)) return;
    holder.killed = true;
    this.log(`fault: powering off vm${holder.index} while it serves the runtime to ${e.mac}`);
    setTimeout(() => k.power(holder.index), k.afterMs);
  }

  /**
   * Waits until every VM printed `expect` on its console (its OS runs), powered off, or the time
   * is up; then names why each one that did not make it failed.
   */
  async waitForOs(vms: readonly Vm[], expect: RegExp, timeoutS: number, signal?: AbortSignal): Promise<void> {
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
          this.log(`${vm.name} booted its OS at ${t.marks.booted!.toFixed(1)} s`);
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
}
