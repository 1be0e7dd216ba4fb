import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { startTracker, TrackerError, type SwarmStats, type Tracker } from '../../src/index.js';
import { compactPeers, httpAnnounce, httpScrape, newPeerId, UdpAction, UdpClient } from './_client.js';

const HASH = randomBytes(20).toString('hex');
const OTHER = randomBytes(20).toString('hex');
const open: Tracker[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});
async function tracker(opts: Parameters<typeof startTracker>[0] = {}): Promise<Tracker> {
  const t = await startTracker({ host: '127.0.0.1', port: 0, ...opts });
  open.push(t);
  return t;
}
const httpBase = (t: Tracker): string => `http://127.0.0.1:${t.httpPort}`;

describe('startTracker', () => {
  it('binds HTTP and UDP on 127.0.0.1 with port 0, reports both ports, and raises no UDP6 EINVAL', async () => {
    const errors: string[] = [];
    const t = await tracker({ logger: { error: (m) => errors.push(m) } });
    expect(t.httpPort).toBeGreaterThan(0);
    expect(t.udpPort).toBeGreaterThan(0);
    expect(t.announceUrls('127.0.0.1')).toEqual([
      `udp://127.0.0.1:${t.udpPort}`,
      `http://127.0.0.1:${t.httpPort}/announce`,
    ]);
    await new Promise((r) => setTimeout(r, 200));
    expect(errors).toEqual([]);
  });

  it('hands HTTP peers each other but never themselves, with a short interval', async () => {
    const t = await tracker({ interval: 3 });
    const a = newPeerId();
    const b = newPeerId();
    await httpAnnounce(httpBase(t), { infoHash: HASH, peerId: a, port: 7001, left: 100, event: 'started' });
    const res = await httpAnnounce(httpBase(t), {
      infoHash: HASH,
      peerId: b,
      port: 7002,
      left: 100,
      event: 'started',
    });
    expect(res.interval).toBe(3);
    expect(compactPeers(res.peers as Buffer)).toEqual(['127.0.0.1:7001']);
    const again = await httpAnnounce(httpBase(t), { infoHash: HASH, peerId: a, port: 7001, left: 50 });
    expect(compactPeers(again.peers as Buffer)).toEqual(['127.0.0.1:7002']);
  });

  it('hands UDP peers each other but never themselves (BEP 15)', async () => {
    const t = await tracker();
    const udp = new UdpClient(t.udpPort!);
    try {
      const a = newPeerId();
      const first = await udp.announce({ infoHash: HASH, peerId: a, port: 7101, left: 10, event: 'started' });
      expect(first.action).toBe(UdpAction.Announce);
      expect(first.peers).toEqual([]);
      await udp.announce({ infoHash: HASH, peerId: newPeerId(), port: 7102, left: 0, event: 'started' });
      const res = await udp.announce({ infoHash: HASH, peerId: a, port: 7101, left: 10 });
      expect(res.peers).toEqual(['127.0.0.1:7102']);
      expect(res.seeders).toBe(1);
      expect(res.leechers).toBe(1);
      expect(res.interval).toBe(5);
    } finally {
      udp.close();
    }
  });

  it('keeps each peer’s reported bytes and counts each finished download once', async () => {
    const t = await tracker();
    const updates: SwarmStats[] = [];
    const joined: string[] = [];
    t.on('update', (s) => updates.push(s));
    t.on('peer', (p) => joined.push(`${p.ip}:${p.port}`));
    const a = newPeerId();
    await httpAnnounce(httpBase(t), { infoHash: HASH, peerId: a, port: 7201, left: 1000, event: 'started' });
    await httpAnnounce(httpBase(t), {
      infoHash: HASH,
      peerId: a,
      port: 7201,
      left: 0,
      downloaded: 1000,
      uploaded: 300,
      event: 'completed',
    });
    await httpAnnounce(httpBase(t), {
      infoHash: HASH,
      peerId: a,
      port: 7201,
      left: 0,
      downloaded: 1000,
      uploaded: 300,
      event: 'completed',
    });
    const [s] = t.stats();
    expect(s).toMatchObject({ infoHash: HASH, seeders: 1, leechers: 0, completed: 1 });
    expect(s!.peers).toEqual([
      { id: a.toString('hex'), ip: '127.0.0.1', port: 7201, uploaded: 300, downloaded: 1000, left: 0 },
    ]);
    expect(joined).toEqual(['127.0.0.1:7201']);
    expect(updates.length).toBe(3);
    await httpAnnounce(httpBase(t), { infoHash: HASH, peerId: a, port: 7201, event: 'stopped' });
    expect(t.stats()[0]!.peers).toEqual([]);
  });

  it('refuses foreign info hashes over HTTP and UDP, and accepts them once allowed', async () => {
    const t = await tracker({ whitelist: [HASH] });
    const warnings: Error[] = [];
    t.on('warning', (e) => warnings.push(e));
    const refused = await httpAnnounce(httpBase(t), {
      infoHash: OTHER,
      peerId: newPeerId(),
      port: 7301,
      left: 1,
      event: 'started',
    });
    expect(String(refused['failure reason'])).toContain('not served by this tracker');
    const udp = new UdpClient(t.udpPort!);
    try {
      const r = await udp.announce({
        infoHash: OTHER,
        peerId: newPeerId(),
        port: 7302,
        left: 1,
        event: 'started',
      });
      expect(r.action).toBe(UdpAction.Error);
      expect(t.stats().map((s) => s.infoHash)).toEqual([]);
      const ok = await httpAnnounce(httpBase(t), {
        infoHash: HASH,
        peerId: newPeerId(),
        port: 7303,
        left: 1,
        event: 'started',
      });
      expect(ok['failure reason']).toBeUndefined();
      t.allow(OTHER.toUpperCase());
      expect(
        (await udp.announce({ infoHash: OTHER, peerId: newPeerId(), port: 7304, left: 1, event: 'started' }))
          .action,
      ).toBe(UdpAction.Announce);
      expect(
        t
          .stats()
          .map((s) => s.infoHash)
          .sort(),
      ).toEqual([HASH, OTHER].sort());
      expect(warnings.length).toBe(2);
      expect(() => t.allow('not-a-hash')).toThrow(TrackerError);
    } finally {
      udp.close();
    }
  });

  it('accepts hashes a whitelist function approves', async () => {
    const t = await tracker({ whitelist: (h) => h.startsWith(HASH.slice(0, 4)) });
    expect(
      (await httpAnnounce(httpBase(t), { infoHash: HASH, peerId: newPeerId(), port: 7401, left: 1 }))[
        'failure reason'
      ],
    ).toBeUndefined();
    expect(
      (await httpAnnounce(httpBase(t), { infoHash: OTHER, peerId: newPeerId(), port: 7402, left: 1 }))[
        'failure reason'
      ],
    ).toBeDefined();
  });

  it('answers HTTP scrapes with seeders and leechers', async () => {
    const t = await tracker();
    await httpAnnounce(httpBase(t), {
      infoHash: HASH,
      peerId: newPeerId(),
      port: 7501,
      left: 0,
      event: 'started',
    });
    const res = await httpScrape(httpBase(t), HASH);
    const files = res.files as Record<string, Record<string, number>>;
    const entry = Object.values(files)[0]!;
    expect(entry.complete).toBe(1);
    expect(entry.incomplete).toBe(0);
  });

  it('serves only HTTP or only UDP when asked', async () => {
    const h = await tracker({ udp: false });
    expect(h.udpPort).toBeNull();
    expect(h.announceUrls('10.0.0.1')).toEqual([`http://10.0.0.1:${h.httpPort}/announce`]);
    const u = await tracker({ http: false });
    expect(u.httpPort).toBeNull();
    expect(u.announceUrls('fd00::1')).toEqual([`udp://[fd00::1]:${u.udpPort}`]);
  });

  it('serves HTTP and UDP on an IPv6 address', async () => {
    const t = await tracker({ host: '::1' });
    expect(t.announceUrls('::1')).toEqual([
      `udp://[::1]:${t.udpPort}`,
      `http://[::1]:${t.httpPort}/announce`,
    ]);
    const a = newPeerId();
    await httpAnnounce(`http://[::1]:${t.httpPort}`, {
      infoHash: HASH,
      peerId: a,
      port: 7601,
      left: 1,
      event: 'started',
    });
    const res = await httpAnnounce(`http://[::1]:${t.httpPort}`, {
      infoHash: HASH,
      peerId: newPeerId(),
      port: 7602,
      left: 1,
      event: 'started',
    });
    expect(res['failure reason']).toBeUndefined();
    expect(
      t
        .stats()[0]!
        .peers.map((p) => `${p.ip}:${p.port}`)
        .sort(),
    ).toEqual(['::1:7601', '::1:7602']);
  });

  it('fails with TRACKER_BIND when the port is taken and closes what it had opened', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const err = await startTracker({ host: '127.0.0.1', port }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TrackerError);
      expect(err).toMatchObject({ code: 'TRACKER_BIND', hint: 'pick another port (0 = any)' });
      expect((err as TrackerError).cause).toBeInstanceOf(Error);
    } finally {
      blocker.close();
    }
    await expect(startTracker({ host: 'localhost' })).rejects.toMatchObject({ code: 'TRACKER_BAD_OPTION' });
    await expect(startTracker({ host: '127.0.0.1', port: 0, http: false, udp: false })).rejects.toMatchObject(
      { code: 'TRACKER_BAD_OPTION', hint: 'enable http, udp or both' },
    );
  });

  it('closes idempotently, on abort too, and frees its ports', async () => {
    const ac = new AbortController();
    const t = await startTracker({ host: '127.0.0.1', port: 0, signal: ac.signal });
    const port = t.httpPort!;
    ac.abort();
    await t.close();
    await t.close();
    const again = await startTracker({ host: '127.0.0.1', port, udp: false });
    await again[Symbol.asyncDispose]();
  });
});
