import { describe, expect, it } from 'vitest';
import { SeedPolicy } from './fetch-os.js';
import type { StatusReply } from './status.js';

const none: StatusReply = { kind: 'answered', waiting: 0 };
const some: StatusReply = { kind: 'answered', waiting: 2 };
const failed: StatusReply = { kind: 'failed' };
const skipped: StatusReply = { kind: 'skipped' };

function policy(
  o: { seedTime?: number; whileNeeded?: boolean; idleAnswers?: number; minSeconds?: number } = {},
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

  it('ends at seed_time even while machines still wait', () => {
    const { p, tick } = policy({ seedTime: 3 });
    tick(2000);
    expect(p.reply(some)).toBeNull();
    tick(1000);
    expect(p.reply(some)).toBe('seed-time');
  });
});
