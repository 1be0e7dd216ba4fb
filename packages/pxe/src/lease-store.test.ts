import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ipToNumber } from './ip.js';
import { LeaseStore, type LeaseStoreOptions } from './lease-store.js';

const A = 'aa:aa:aa:aa:aa:01';
const B = 'aa:aa:aa:aa:aa:02';
const C = 'aa:aa:aa:aa:aa:03';

describe('LeaseStore', () => {
  let dir: string;
  let now: number;
  const make = (o: Partial<LeaseStoreOptions> = {}) =>
    new LeaseStore({
      start: ipToNumber('10.0.0.10'),
      end: ipToNumber('10.0.0.12'),
      exclude: [],
      reservations: new Map([[C, ipToNumber('10.0.0.5')]]),
      leaseTimeMs: 60_000,
      offerHoldMs: 10_000,
      quarantineMs: 30_000,
      now: () => now,
      ...o,
    });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'btpxe-ls-'));
    now = 1_000_000;
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('holds an offer for its MAC until the hold time passes', () => {
    const s = make();
    expect(s.offer(A, null)?.ip).toBe('10.0.0.10');
    expect(s.offer(B, '10.0.0.10')?.ip).toBe('10.0.0.11');
    now += 10_001;
    expect(s.offer('aa:aa:aa:aa:aa:04', '10.0.0.10')?.ip).toBe('10.0.0.10');
  });

  it('refuses to commit an address bound to someone else, and honours the requested one when free', () => {
    const s = make();
    expect(s.commit(A, '10.0.0.11')?.ip).toBe('10.0.0.11');
    expect(s.commit(B, '10.0.0.11')).toBeNull();
    expect(s.commit(B, '10.0.0.99')).toBeNull();
    now += 60_001;
    expect(s.commit(B, '10.0.0.11')?.ip).toBe('10.0.0.11');
  });

  it('gives a reserved MAC its address and nobody else', () => {
    const s = make();
    expect(s.offer(C, null)?.ip).toBe('10.0.0.5');
    expect(s.commit(A, '10.0.0.5')).toBeNull();
  });

  it('keeps a released address remembered for its MAC and hands out fresh ones first', () => {
    const s = make();
    s.commit(A, '10.0.0.10');
    expect(s.release(A, '10.0.0.10')?.state).toBe('free');
    expect(s.offer(B, null)?.ip).toBe('10.0.0.11');
    expect(s.offer(A, null)?.ip).toBe('10.0.0.10');
  });

  it('reclaims the longest-expired remembered lease when the pool is full', () => {
    const s = make();
    s.commit(A, '10.0.0.10');
    now += 1000;
    s.commit(B, '10.0.0.11');
    s.commit('aa:aa:aa:aa:aa:04', '10.0.0.12');
    expect(s.offer('aa:aa:aa:aa:aa:05', null)).toBeNull();
    now += 60_000;
    expect(s.offer('aa:aa:aa:aa:aa:05', null)?.ip).toBe('10.0.0.10');
    expect(s.get(A)).toBeNull();
  });

  it('quarantines a declined address for the quarantine time', () => {
    const s = make();
    s.commit(A, '10.0.0.10');
    expect(s.decline(A, '10.0.0.10')).toBe(true);
    expect(s.offer(A, '10.0.0.10')?.ip).toBe('10.0.0.11');
    now += 30_001;
    expect(s.availableFor(ipToNumber('10.0.0.10'), B)).toBe(true);
  });

  it('persists bound and released leases atomically and loads them back', async () => {
    const file = join(dir, 'leases.json');
    const s = make({ file });
    s.commit(A, '10.0.0.11');
    s.offer(B, null);
    await s.save();
    const files = await readdir(dir);
    expect(files).toEqual(['leases.json']);
    const data = JSON.parse(await readFile(file, 'utf8')) as { leases: { mac: string }[] };
    expect(data.leases.map((l) => l.mac)).toEqual([A]);
    const t = make({ file });
    await t.load();
    expect(t.get(A)).toMatchObject({ ip: '10.0.0.11', state: 'bound' });
    expect(t.offer(B, '10.0.0.11')?.ip).not.toBe('10.0.0.11');
  });

  it('group-commits: many changes while a write runs cost one more write, not one each', async () => {
    const file = join(dir, 'leases.json');
    const s = make({ file, start: ipToNumber('10.0.0.10'), end: ipToNumber('10.0.0.250') });
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 100; i++) {
      s.commit(`aa:aa:aa:aa:ab:${i.toString(16).padStart(2, '0')}`, `10.0.0.${10 + i}`);
      writes.push(s.save());
    }
    expect(new Set(writes).size).toBeLessThanOrEqual(2);
    await Promise.all(writes);
    const data = JSON.parse(await readFile(file, 'utf8')) as { leases: unknown[] };
    expect(data.leases).toHaveLength(100);
  });

  it('refuses a corrupt lease file with a PXE_LEASE_FILE error naming it', async () => {
    const file = join(dir, 'leases.json');
    await writeFile(file, '{"version": 1, "leases": [');
    await expect(make({ file }).load()).rejects.toMatchObject({
      code: 'PXE_LEASE_FILE',
      message: expect.stringContaining(file),
    });
  });

  it('drops loaded leases the current pool no longer allows', async () => {
    const file = join(dir, 'leases.json');
    await writeFile(
      file,
      JSON.stringify({
        version: 1,
        leases: [{ mac: A, ip: '10.0.0.200', expiresAt: now + 1000, state: 'bound' }],
        declined: [],
      }),
    );
    const s = make({ file });
    await s.load();
    expect(s.get(A)).toBeNull();
  });
});
