import { describe, expect, it } from 'vitest';
import { SeederYield } from './seeder-yield.js';

function rig(share = 0.1) {
  let now = 0;
  let busy = false;
  const sent = { phase1: 0, seeder: 0 };
  const limits: (number | undefined)[] = [];
  const y = new SeederYield({
    share,
    floorBps: 1000,
    idleMs: 1000,
    phase1Busy: () => busy,
    sent: () => ({ ...sent }),
    setLimit: (b) => limits.push(b),
    now: () => now,
  });
  /** Advances `ms` in 250 ms ticks with the link carrying `rate` bytes/s (split as given). */
  const run = (ms: number, rate: { phase1?: number; seeder?: number }) => {
    const out = [];
    for (let t = 0; t < ms; t += 250) {
      now += 250;
      sent.phase1 += ((rate.phase1 ?? 0) * 250) / 1000;
      sent.seeder += ((rate.seeder ?? 0) * 250) / 1000;
      const c = y.tick();
      if (c) out.push(c);
    }
    return out;
  };
  return { y, run, limits, setBusy: (b: boolean) => (busy = b) };
}

describe('SeederYield', () => {
  it('caps the seeder at its share of the fastest rate seen while phase-1 is sent, and lifts it when idle', () => {
    const { y, run, limits, setBusy } = rig(0.1);
    run(3000, { seeder: 2_500_000 }); // the link carried 2.5 MB/s of OS
    expect(limits).toEqual([]);
    setBusy(true);
    expect(run(250, { phase1: 2_000_000, seeder: 500_000 })).toEqual([
      { kind: 'capped', bytesPerSecond: 250_000 },
    ]);
    expect(y.cap).toBe(250_000);
    // Phase-1 keeps the link full: the cap holds (same peak), no new set.
    expect(run(5000, { phase1: 2_250_000, seeder: 250_000 })).toEqual([]);
    setBusy(false);
    // The gate hands over between machines: less than idleMs idle keeps the cap.
    expect(run(750, { seeder: 250_000 })).toEqual([]);
    expect(run(500, { seeder: 250_000 })).toEqual([{ kind: 'lifted' }]);
    expect(limits).toEqual([250_000, undefined]);
  });

  it('never caps below the floor, and never caps with share 1', () => {
    const low = rig(0.1);
    low.setBusy(true);
    expect(low.run(250, {})).toEqual([{ kind: 'capped', bytesPerSecond: 1000 }]);
    const off = rig(1);
    off.setBusy(true);
    off.run(5000, { phase1: 1_000_000 });
    expect(off.limits).toEqual([]);
  });

  it('follows the link: a faster peak raises the cap by more than a tenth', () => {
    const { run, limits, setBusy } = rig(0.5);
    setBusy(true);
    run(1000, { phase1: 1_000_000 });
    run(2000, { phase1: 4_000_000 });
    expect(limits.at(-1)).toBe(2_000_000);
  });

  it('refuses a share outside (0, 1]', () => {
    for (const share of [0, -0.5, 1.5, Number.NaN])
      expect(
        () =>
          new SeederYield({
            share,
            phase1Busy: () => false,
            sent: () => ({ phase1: 0, seeder: 0 }),
            setLimit: () => {},
          }),
      ).toThrow(/share/);
  });
});
