import { describe, expect, it } from 'vitest';
import { SeedPolicy } from './fetch-os.js';
import type { StatusReply } from './status.js';

const none: StatusReply = { kind: 'answered', waiting: 0 };
const some: StatusReply = { kind: 'answered', waiting: 2 };
const failed: StatusReply = { kind: 'failed' };
const skipped: StatusReply = { kind: 'skipped' };

function policy(
  o: {
    seedTime?: number;
    seedTimeMax?: number;
    whileNeeded?: boolean;
    idleAnswers?: number;
    minSeconds?: number;
  } = {},
) {
  let t = 50_000;
  const p = new SeedPolicy({
    seedTime: 30,
    whileNeeded: true,
    idleAnswers: 3,
    minSeconds: 2,
    ...o,
    now: () => t,
  });
  return { p, tick: (ms: number) => (t += ms) };
}

describe('SeedPolicy', () => {
  it('stops once the server said no machine waits, three answers in a row', () => {
    const { p, tick } = policy();
    tick(1000);
    expect(p.reply(none)).toBeNull();
    tick(1000);
    expect(p.reply(none)).toBeNull();
    tick(1000);
    expect(p.reply(none)).toBe('none-waiting');
  });

  it('starts the count over on an answer with machines waiting, or on no answer', () => {
    const { p, tick } = policy();
    for (const r of [none, none, some, none, none, failed, none, none]) {
      tick(1000);
      expect(p.reply(r)).toBeNull();
    }
    // A throttled report (not sent) neither counts nor resets.
    expect(p.reply(skipped)).toBeNull();
    tick(1000);
    expect(p.reply(none)).toBe('none-waiting');
  });

  it('seeds at least minSeconds whatever the server says', () => {
    const { p, tick } = policy({ minSeconds: 5 });
    for (let i = 0; i < 4; i++) {
      tick(1000);
      expect(p.reply(none)).toBeNull();
    }
    tick(999);
    expect(p.verdict()).toBeNull();
    tick(1);
    expect(p.verdict()).toBe('none-waiting');
  });

  it('seeds the whole seed_time when the server never answers, or when asked to', () => {
    for (const [o, r] of [
      [{}, failed],
      [{ whileNeeded: false }, none],
    ] as const) {
      const { p, tick } = policy(o);
      for (let s = 1; s < 30; s++) {
        tick(1000);
        expect(p.reply(r), `${s} s`).toBeNull();
      }
      tick(999);
      expect(p.verdict()).toBeNull();
      tick(1);
      expect(p.verdict()).toBe('seed-time');
    }
  });

  it('ends at seed_time even while machines still wait when seedTimeMax is not above it', () => {
    for (const seedTimeMax of [undefined, 0, 3]) {
      const { p, tick } = policy({ seedTime: 3, seedTimeMax });
      tick(2000);
      expect(p.reply(some)).toBeNull();
      tick(1000);
      expect(p.reply(some)).toBe('seed-time');
    }
  });

  it('seeds past seed_time while machines wait, and stops at the first answer that none does', () => {
    const { p, tick } = policy({ seedTime: 3, seedTimeMax: 60 });
    for (let s = 1; s <= 10; s++) {
      tick(1000);
      expect(p.reply(some), `${s} s`).toBeNull();
    }
    expect(p.remainingSeconds()).toBe(0);
    tick(1000);
    expect(p.reply(none)).toBe('none-waiting');
  });

  it('stops at seedTimeMax though machines still wait', () => {
    const { p, tick } = policy({ seedTime: 3, seedTimeMax: 10 });
    for (let s = 1; s < 10; s++) {
      tick(1000);
      expect(p.reply(some), `${s} s`).toBeNull();
    }
    tick(999);
    expect(p.verdict()).toBeNull();
    tick(1);
    expect(p.verdict()).toBe('seed-time-max');
  });

  it('does not seed past seed_time on no answer, or without seed_while_needed', () => {
    // Machines waited, then the server stopped answering: nobody is known to wait any more.
    const a = policy({ seedTime: 3, seedTimeMax: 60 });
    a.tick(2000);
    expect(a.p.reply(some)).toBeNull();
    a.tick(1000);
    expect(a.p.reply(failed)).toBe('seed-time');
    const b = policy({ seedTime: 3, seedTimeMax: 60, whileNeeded: false });
    b.tick(2000);
    expect(b.p.reply(some)).toBeNull();
    b.tick(1000);
    expect(b.p.verdict()).toBe('seed-time');
  });
});
