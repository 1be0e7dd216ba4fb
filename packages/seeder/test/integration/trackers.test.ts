// Tracker choice of download(): the UDP URL of a tracker alone while it answers; its HTTP URL when it
// does not. Real trackers (our @boottorrent/tracker in a child process), real sockets, loopback only.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTorrent, download, SeederError, startSeeder } from '../../src/index.js';
import {
  cleanup,
  digestFolder,
  makeOsFolder,
  requireBuilt,
  startTrackerProcess,
  tempDir,
} from './_helpers.js';

describe('download(): tracker choice', { timeout: 60_000 }, () => {
  let root: string;
  let osDir: string;
  let tracker: Awaited<ReturnType<typeof startTrackerProcess>>;
  /** an HTTP "tracker" that only counts announces (it answers a failure reason) */
  let httpCounter: Server;
  let httpCounterUrl: string;
  let httpAnnounces = 0;
  /** a UDP "tracker" that swallows every datagram */
  let blackHole: UdpSocket;
  let blackHoleUrl: string;
  let blackHoleDatagrams = 0;

  beforeAll(async () => {
    requireBuilt();
    root = await tempDir('trackers');
    osDir = join(root, 'os');
    await makeOsFolder(osDir, { kernel: 300_000, initrd: 900_000 });
    tracker = await startTrackerProcess();
    httpCounter = createServer((_req, res) => {
      httpAnnounces++;
      res.end('d14:failure reason4:teste');
    });
    await new Promise<void>((r) => httpCounter.listen(0, '127.0.0.1', r));
    const a = httpCounter.address();
    httpCounterUrl = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/announce`;
    blackHole = createSocket('udp4');
    blackHole.on('message', () => blackHoleDatagrams++);
    await new Promise<void>((r) => blackHole.bind(0, '127.0.0.1', r));
    blackHoleUrl = `udp://127.0.0.1:${blackHole.address().port}`;
  });
  afterAll(async () => {
    await tracker?.proc.kill();
    await new Promise<void>((r) => (httpCounter ? httpCounter.close(() => r()) : r()));
    blackHole?.close();
    await cleanup(root);
  });

  it('refuses a delay that is not a number of ms >= 0 with one line, before starting anything', async () => {
    const created = await createTorrent(osDir);
    for (const [key, value] of [
      ['trackerFallbackMs', -1],
      ['trackerFallbackMs', Number.NaN],
      ['webSeedAfterMs', Number.POSITIVE_INFINITY],
    ] as const) {
      const err = await download({ torrent: created.torrent, dir: join(root, 'bad'), [key]: value }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(SeederError);
      expect(err).toMatchObject({
        code: 'SEEDER_BAD_OPTION',
        message: `${key}: ${value} is not a delay in ms`,
        hint: 'use a number >= 0',
      });
    }
  });

  it("announces only to a tracker's UDP URL while it answers (peers found through it alone)", async () => {
    // The machine finds the seeder only through the tracker: no serverPeers.
    // Announce URLs are outside the info dictionary: the seeder's copy lists the real tracker only.
    const created = await createTorrent(osDir, { announce: [tracker.udp, httpCounterUrl] });
    const seeded = await createTorrent(osDir, { announce: [tracker.udp] });
    expect(seeded.infoHash).toBe(created.infoHash);
    await using seeder = await startSeeder({
      torrents: [{ torrent: seeded.torrent, dir: osDir }],
      port: 0,
      host: '127.0.0.1',
    });
    await using dl = await download({
      torrent: created.torrent,
      dir: join(root, 'via-udp'),
      trackerFallbackMs: 300,
    });
    expect(await digestFolder(dl.dir)).toEqual(await digestFolder(osDir));
    // not a serverPeers entry: the seeder counts as a peer the tracker handed out
    expect(dl.stats().fromPeers).toBe(created.size);
    expect(seeder.stats()[0]!.uploaded).toBe(created.size);
    await new Promise((r) => setTimeout(r, 900)); // three fallback delays
    expect(httpAnnounces).toBe(0);
  });

  it('announces to the HTTP URL when the UDP URL of the same host does not answer', async () => {
    const created = await createTorrent(osDir, { name: 'fallback', announce: [blackHoleUrl, tracker.http] });
    const seeded = await createTorrent(osDir, { name: 'fallback', announce: [tracker.http] });
    await using seeder = await startSeeder({
      torrents: [{ torrent: seeded.torrent, dir: osDir }],
      port: 0,
      host: '127.0.0.1',
    });
    expect(seeder.port).toBeGreaterThan(0);
    const logged: string[] = [];
    await using dl = await download({
      torrent: created.torrent,
      dir: join(root, 'via-http'),
      trackerFallbackMs: 300,
      logger: { info: (msg) => logged.push(msg) },
    });
    expect(await digestFolder(dl.dir)).toEqual(await digestFolder(osDir));
    expect(blackHoleDatagrams).toBeGreaterThan(0);
    expect(logged).toContain('no answer from the UDP tracker: announcing over HTTP');
  });
});
