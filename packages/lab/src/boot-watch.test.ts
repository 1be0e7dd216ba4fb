import type { ChildProcess } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BootWatch, type BootEvent } from './boot-watch.js';
import { summarize } from './timeline.js';

const MACS = ['52:54:00:77:00:10', '52:54:00:77:00:11', '52:54:00:77:00:12'];
const [A, B, C] = MACS as [string, string, string];

const client = (mac: string, phase: string, more: Partial<Extract<BootEvent, { type: 'client' }>> = {}) =>
  ({
    type: 'client',
    mac,
    why: 'status',
    phase,
    bytesFromServer: 0,
    bytesFromPeers: 0,
    bytesFromWebSeed: 0,
    ...more,
  }) as const;

/** A VM as the watch sees it: a console and whether QEMU still runs. */
const vm = (name: string, mac: string, console: string, exitCode: number | null = null) => ({
  name,
  mac,
  output: () => console,
  child: { exitCode } as ChildProcess,
});

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(1_000_000);
});
afterEach(() => {
  vi.useRealTimers();
});

describe('BootWatch', () => {
  it("stamps each milestone once, in seconds since the VM's power-on", () => {
    const w = new BootWatch({ macs: MACS });
    w.poweredOn(A);
    vi.advanceTimersByTime(2500);
    w.event({ type: 'lease', kind: 'offered', mac: A });
    w.event({ type: 'lease', kind: 'acked', mac: A });
    vi.advanceTimersByTime(1000);
    w.event(client(A, 'loader', { why: 'boot.ipxe' }));
    vi.advanceTimersByTime(10_000);
    w.event(client(A, 'menu'));
    vi.advanceTimersByTime(1000);
    w.event(client(A, 'downloading', { progress: 0.1 }));
    vi.advanceTimersByTime(1000);
    w.event(client(A, 'downloading', { progress: 0.9 }));
    expect(w.timelines.get(A)!.marks).toEqual({
      dhcp: 2.5,
      loader: 3.5,
      phase1: 13.5,
      menu: 13.5,
      download: 14.5,
    });
  });

  it('ignores a VM that is not powered on yet, and machines that are not its VMs', () => {
    const w = new BootWatch({ macs: MACS });
    w.event({ type: 'lease', kind: 'acked', mac: B });
    w.event(client('52:54:00:00:00:99', 'menu'));
    expect(w.timelines.get(B)!.marks).toEqual({});
    expect(w.timelines.has('52:54:00:00:00:99')).toBe(false);
  });

  it("keeps each VM's address and byte counts from the server's latest report", () => {
    const w = new BootWatch({ macs: MACS });
    w.event(client(A, 'downloading', { ip: '10.77.0.100', bytesFromServer: 5, bytesFromPeers: 7 }));
    w.event(client(A, 'seeding', { bytesFromServer: 6, bytesFromPeers: 20, bytesFromWebSeed: 1 }));
    expect(w.timelines.get(A)).toMatchObject({
      ip: '10.77.0.100',
      bytesFromServer: 6,
      bytesFromPeers: 20,
      bytesFromWebSeed: 1,
    });
  });

  it('powers off the VM the kill fault names once, when its download passes the mark', () => {
    const powered: number[] = [];
    const lines: string[] = [];
    const w = new BootWatch({
      macs: MACS,
      logger: { info: (l) => lines.push(l) },
      kill: { index: 1, atProgress: 0.3, power: (i) => powered.push(i) },
    });
    w.event(client(A, 'downloading', { progress: 0.5 }));
    w.event(client(B, 'downloading', { progress: 0.2 }));
    expect(powered).toEqual([]);
    w.event(client(B, 'downloading', { progress: 0.31 }));
    w.event(client(B, 'downloading', { progress: 0.6 }));
    expect(powered).toEqual([1]);
    expect(w.timelines.get(B)!.killed).toBe(true);
    expect(lines).toEqual(['fault: powering off vm1 at 31% of its download']);
  });

  it("records where each VM's runtime came from, and powers off the first holder sent to serve it", () => {
    const powered: number[] = [];
    const w = new BootWatch({ macs: MACS, killHolder: { afterMs: 500, power: (i) => powered.push(i) } });
    w.event({ type: 'runtime', action: 'have', mac: A, source: 'server' });
    w.event({ type: 'runtime', action: 'redirect', mac: B, peer: A });
    w.event({ type: 'runtime', action: 'redirect', mac: C, peer: B });
    w.event({ type: 'runtime', action: 'have', mac: C, source: '10.77.0.101 (52:54:00:77:00:11)' });
    expect(w.timelines.get(A)!.killed).toBe(true);
    expect(w.timelines.get(B)!.killed).toBe(false);
    expect(powered).toEqual([]);
    vi.advanceTimersByTime(500);
    expect(powered).toEqual([0]);
    const s = summarize([...w.timelines.values()]);
    expect(s.runtime).toEqual({ fromServer: 1, fromPeers: 1 });
  });

  it('waits until each VM prints the marker or powers off, then names why the others failed', async () => {
    const lines: string[] = [];
    const w = new BootWatch({ macs: MACS, logger: { info: (l) => lines.push(l) } });
    for (const m of MACS) w.poweredOn(m);
    vi.advanceTimersByTime(4000);
    const done = w.waitForOs(
      [
        vm('vm0', A, 'iPXE\nBOOTTORRENT-TARGET-OK os=demo-linux\n'),
        vm('vm1', B, 'iPXE\nKernel panic\n', 1),
        vm('vm2', C, 'iPXE\n'),
      ],
      /BOOTTORRENT-TARGET-OK/,
      2,
    );
    await vi.advanceTimersByTimeAsync(3000);
    await done;
    expect(w.timelines.get(A)).toMatchObject({ ok: true, marks: { booted: 4 } });
    expect(w.timelines.get(B)).toMatchObject({
      ok: false,
      error: 'VM powered off before its OS printed /BOOTTORRENT-TARGET-OK/',
    });
    expect(w.timelines.get(C)).toMatchObject({ ok: false, error: 'no OS within 2 s' });
    expect(lines).toEqual(['vm0 booted its OS at 4.0 s']);
    expect(summarize([...w.timelines.values()]).ok).toBe(false);
  });
});

describe('summarize', () => {
  it("adds up the VMs' bytes, the server's share, and succeeds when every VM not killed booted", () => {
    const w = new BootWatch({ macs: MACS });
    w.event(client(A, 'seeding', { bytesFromServer: 30, bytesFromPeers: 50, bytesFromWebSeed: 20 }));
    w.event(client(B, 'seeding', { bytesFromPeers: 100 }));
    const [a, b, c] = [...w.timelines.values()];
    a!.ok = true;
    b!.ok = true;
    c!.killed = true;
    const s = summarize([a!, b!, c!]);
    expect(s).toMatchObject({ ok: true, fromServer: 30, fromPeers: 150, fromWebSeed: 20 });
    expect(s.serverShare).toBeCloseTo(50 / 200);
    expect(summarize([]).serverShare).toBe(1);
  });
});
