import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTorrent, startSeeder, type CreatedTorrent, type Seeder } from '../../src/index.js';
import {
  cleanup,
  digestFolder,
  makeOsFolder,
  requireBuilt,
  spawnNode,
  startTrackerProcess,
  startWebSeed,
  tempDir,
  type JsonLine,
  type JsonProcess,
} from './_helpers.js';

// One seeder (this process) + downloaders as separate OS processes on 127.0.0.1, found through our
// tracker (its own process). Content: 3 files, 24 MiB + a bit, pieces spanning file boundaries.
describe('swarm of separate processes on loopback', () => {
  let root: string;
  let osDir: string;
  let created: CreatedTorrent;
  let torrentPath: string;
  let tracker: Awaited<ReturnType<typeof startTrackerProcess>>;
  let expected: Record<string, string>;
  const procs: JsonProcess[] = [];
  const seeders: Seeder[] = [];

  beforeAll(async () => {
    requireBuilt();
    root = await tempDir('swarm');
    osDir = join(root, 'srv', 'debian');
    await makeOsFolder(osDir, { vmlinuz: 5_000_001, 'initrd.img': 19_000_000, 'boot/cmdline': 77 });
    expected = await digestFolder(osDir);
    created = await createTorrent(osDir);
    torrentPath = join(root, 'debian.torrent');
    await writeFile(torrentPath, created.torrent);
    tracker = await startTrackerProcess();
  });

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill('SIGKILL')));
    await Promise.all(seeders.map((s) => s.close()));
    await tracker?.proc.kill();
    await cleanup(root);
  });

  const announce = (): string[] => [tracker.http, tracker.udp];
  const peer = (name: string, extra: object = {}): JsonProcess => {
    const p = spawnNode('peer.mjs', {
      torrent: torrentPath,
      dir: join(root, name),
      announce: announce(),
      ...extra,
    });
    procs.push(p);
    return p;
  };
  const done = (l: JsonLine): boolean => l.event === 'done';

  it('delivers byte-exact files to 4 downloaders, which also feed each other', async () => {
    const seeder = await startSeeder({
      torrents: [{ torrent: created.torrent, dir: osDir }],
      port: 0,
      host: '127.0.0.1',
      announce: announce(),
      uploadLimit: 12 * 1024 * 1024,
    });
    seeders.push(seeder);
    const web = await startWebSeed(join(root, 'srv'));
    try {
      const serverPeers = [`127.0.0.1:${seeder.port}`];
      const ps = ['a', 'b', 'c', 'd'].map((n) => peer(`swarm-${n}`, { serverPeers, webSeeds: [web.url] }));
      const results = await Promise.all(ps.map((p) => p.next(done, 90_000)));
      for (const [i, r] of results.entries()) {
        expect(r.downloaded).toBe(created.size);
        expect(await digestFolder(join(root, `swarm-${'abcd'[i]}`, 'debian'))).toEqual(expected);
        expect(r.fromWebSeed).toBe(0); // the web seed is a fallback only
        expect((r.fromServer as number) + (r.fromPeers as number)).toBeGreaterThanOrEqual(created.size);
      }
      // The swarm worked as a swarm: peers sent each other a real share of the bytes.
      const fromPeers = results.reduce((s, r) => s + (r.fromPeers as number), 0);
      expect(fromPeers).toBeGreaterThan(created.size);
      expect(web.requests).toBe(0);
      const up = seeder.stats()[0]!;
      expect(up.uploaded).toBeGreaterThan(0);
      expect(up.peers.filter((p) => p.uploaded > 0).length).toBeGreaterThanOrEqual(1);
    } finally {
      await Promise.all(procs.splice(0).map((p) => p.kill()));
      await seeders.pop()?.close();
      web.server.close();
    }
  });

  it('lets the others finish when one downloader is killed mid-way', async () => {
    // a slow server so the kill lands mid-download
    const seeder = await startSeeder({
      torrents: [{ torrent: created.torrent, dir: osDir }],
      port: 0,
      announce: announce(),
      uploadLimit: 6 * 1024 * 1024,
    });
    seeders.push(seeder);
    try {
      const serverPeers = [`127.0.0.1:${seeder.port}`];
      const ps = ['k1', 'k2', 'k3', 'k4'].map((n) => peer(`kill-${n}`, { serverPeers }));
      const victim = ps[0]!;
      const half = await victim.next(
        (l) => l.event === 'progress' && (l.downloaded as number) > created.size / 4,
        60_000,
      );
      expect(half.downloaded as number).toBeLessThan(created.size);
      await victim.kill('SIGKILL');
      const results = await Promise.all(ps.slice(1).map((p) => p.next(done, 120_000)));
      for (const [i, r] of results.entries()) {
        expect(r.downloaded).toBe(created.size);
        expect(await digestFolder(join(root, `kill-k${i + 2}`, 'debian'))).toEqual(expected);
      }
    } finally {
      await Promise.all(procs.splice(0).map((p) => p.kill()));
      await seeders.pop()?.close();
    }
  });

  it('lets downloaders finish from peers and the web seed when the server seeder is killed mid-download', async () => {
    // The seeder in its own process, slowed down so that the kill lands while every client still lacks
    // pieces that only the server had sent to nobody yet: those must come over HTTP.
    const seeder = spawnNode('seeder.mjs', {
      torrent: torrentPath,
      dir: osDir,
      port: 0,
      host: '127.0.0.1',
      announce: announce(),
      uploadLimit: 4 * 1024 * 1024,
    });
    procs.push(seeder);
    const web = await startWebSeed(join(root, 'srv'));
    try {
      const ready = await seeder.next((l) => l.event === 'ready', 30_000);
      const serverPeers = [`127.0.0.1:${String(ready.port)}`];
      const names = ['sk1', 'sk2', 'sk3'];
      const ps = names.map((n) =>
        peer(`seederkill-${n}`, { serverPeers, webSeeds: [web.url], webSeedAfterMs: 1000 }),
      );
      // every client is under way, and the server has sent less than a third of the image
      await Promise.all(ps.map((p) => p.next((l) => l.event === 'progress' && (l.downloaded as number) > 0)));
      const sent = await seeder.next((l) => l.event === 'upload' && (l.uploaded as number) > 0, 30_000);
      expect(sent.uploaded as number).toBeLessThan(created.size / 3);
      await seeder.kill('SIGKILL');
      const results = await Promise.all(ps.map((p) => p.next(done, 120_000)));
      for (const [i, r] of results.entries()) {
        expect(r.downloaded).toBe(created.size);
        expect(r.fromServer as number).toBeLessThan(created.size);
        expect(await digestFolder(join(root, `seederkill-${names[i]!}`, 'debian'))).toEqual(expected);
      }
      const sum = (k: string): number => results.reduce((s, r) => s + (r[k] as number), 0);
      expect(sum('fromPeers')).toBeGreaterThan(0);
      expect(sum('fromWebSeed')).toBeGreaterThan(0);
      expect(web.requests).toBeGreaterThan(0);
    } finally {
      await Promise.all(procs.splice(0).map((p) => p.kill()));
      web.server.close();
    }
  });

  it('finishes from peers alone after the server seeder stops once one downloader is complete', async () => {
    const seeder = await startSeeder({
      torrents: [{ torrent: created.torrent, dir: osDir }],
      port: 0,
      announce: announce(),
    });
    seeders.push(seeder);
    const serverPeers = [`127.0.0.1:${seeder.port}`];
    const first = peer('stop-1', { serverPeers });
    await first.next(done, 60_000);
    await seeders.pop()?.close();
    try {
      const rest = ['stop-2', 'stop-3', 'stop-4'].map((n) => peer(n, { serverPeers }));
      const results = await Promise.all(rest.map((p) => p.next(done, 120_000)));
      for (const [i, r] of results.entries()) {
        expect(r.fromServer).toBe(0);
        expect(r.fromPeers as number).toBeGreaterThanOrEqual(created.size);
        expect(await digestFolder(join(root, `stop-${i + 2}`, 'debian'))).toEqual(expected);
      }
    } finally {
      await Promise.all(procs.splice(0).map((p) => p.kill()));
    }
  });

  it('falls back to the HTTP web seed when the seeder is down and there are no peers', async () => {
    const web = await startWebSeed(join(root, 'srv'));
    try {
      const p = peer('webseed', { webSeeds: [web.url], webSeedAfterMs: 1000 });
      const r = await p.next(done, 60_000);
      expect(r.fromWebSeed as number).toBeGreaterThanOrEqual(created.size);
      expect(r.fromServer).toBe(0);
      expect(await digestFolder(join(root, 'webseed', 'debian'))).toEqual(expected);
      // it waited for the stall before touching HTTP: the first progress lines show no web seed bytes
      expect(
        p.lines
          .filter((l) => l.event === 'progress')
          .slice(0, 2)
          .every((l) => l.fromWebSeed === 0),
      ).toBe(true);
    } finally {
      await Promise.all(procs.splice(0).map((p) => p.kill()));
      web.server.close();
    }
  });
});
