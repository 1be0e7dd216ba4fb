import { describe, expect, it } from 'vitest';
import { StatusGuard } from './status-guard.js';

const A = '52:54:00:00:00:0a';
const B = '52:54:00:00:00:0b';

describe('StatusGuard', () => {
  it('admits a burst, then refuses with 429 until tokens refill at the rate', () => {
    let now = 0;
    const g = new StatusGuard({ rate: 2, burst: 3, now: () => now });
    expect([1, 2, 3].map(() => g.admit(A, '10.0.0.5'))).toEqual([null, null, null]);
    const r = g.admit(A, '10.0.0.5');
    expect(r).toMatchObject({ status: 429, reason: 'rate' });
    expect(r!.line).toMatch(/^too many reports from 10\.0\.0\.5: at most 2 per second\n$/);
    now += 499; // 0.998 tokens: still refused
    expect(g.admit(A, '10.0.0.5')?.status).toBe(429);
    now += 1;
    expect(g.admit(A, '10.0.0.5')).toBeNull();
    expect(g.refused.rate).toBe(2);
  });

  it('keeps one bucket per source address', () => {
    const g = new StatusGuard({ rate: 1, burst: 1, now: () => 0 });
    expect(g.admit(A, '10.0.0.5')).toBeNull();
    expect(g.admit(A, '10.0.0.5')?.status).toBe(429);
    expect(g.admit(B, '10.0.0.6')).toBeNull();
  });

  it('with a lease table, admits only the MAC whose lease holds the source address', () => {
    const leases = new Map([['10.0.0.5', A]]);
    const g = new StatusGuard({ leaseOwner: (ip) => leases.get(ip), now: () => 0 });
    expect(g.admit(A, '10.0.0.5')).toBeNull();
    expect(g.admit(B, '10.0.0.5')).toEqual({
      status: 403,
      reason: 'lease',
      line: `10.0.0.5 is leased to ${A}, not to ${B}\n`,
    });
    expect(g.admit(B, '10.0.0.9')).toMatchObject({
      status: 403,
      line: expect.stringMatching(/^no DHCP lease holds 10\.0\.0\.9/),
    });
    expect(g.refused.lease).toBe(2);
  });

  it('without a lease table (proxy mode, DHCP off), admits any MAC from any source', () => {
    const g = new StatusGuard({ leaseOwner: () => null, now: () => 0 });
    expect(g.admit(A, '10.0.0.5')).toBeNull();
    expect(g.admit(B, '10.0.0.5')).toBeNull();
  });

  it('a refused lease check takes no token from the source', () => {
    const g = new StatusGuard({ rate: 1, burst: 1, leaseOwner: () => A, now: () => 0 });
    expect(g.admit(B, '10.0.0.5')?.status).toBe(403);
    expect(g.admit(A, '10.0.0.5')).toBeNull();
  });
});
