import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTorrent, download, startSeeder, type CreatedTorrent, type Seeder } from '../../src/index.js';
import {
  cleanup,
  digestFolder,
  JsonProcess,
  makeOsFolder,
  requireBuilt,
  startTrackerProcess,
  tempDir,
  tool,
} from './_helpers.js';

// Interop with a client nobody here wrote: Debian's aria2c, through our tracker over HTTP (aria2 refuses
// UDP trackers unless DHT is on).
describe('aria2c interop through our HTTP tracker', () => {
  let aria2c: string;
  let root: string;
  let osDir: string;
  let created: CreatedTorrent;
  let torrentPath: string;
  let tracker: Awaited<ReturnType<typeof startTrackerProcess>>;
  const procs: JsonProcess[] = [];
  let seeder: Seeder | undefined;

  const aria2 = (args: string[]): JsonProcess => {
    const port = 20000 + Math.floor(Math.random() * 30000);
    const p = new JsonProcess(
      spawn(
        aria2c,
        [
          '--enable-dht=false',
          '--enable-dht6=false',
          '--bt-enable-lpd=false',
          '--enable-peer-exchange=false',
          `--listen-port=${port}`,
          '--summary-interval=0',
          '--console-log-level=warn',
          '--file-allocation=none',
          ...args,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      ),
    );
    procs.push(p);
    return p;
  };

  beforeAll(async () => {
    aria2c = tool('aria2c');
    requireBuilt();
    root = await tempDir('aria2');
    osDir = join(root, 'srv', 'tinycore');
    await makeOsFolder(osDir, { 'boot/vmlinuz64': 4_500_000, 'boot/corepure64.gz': 12_000_123 });
    tracker = await startTrackerProcess();
    created = await createTorrent(osDir, { announce: [tracker.http] });
    torrentPath = join(root, 'tinycore.torrent');
    await writeFile(torrentPath, created.torrent);
  });

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill('SIGKILL')));
    await seeder?.close();
    await tracker?.proc.kill();
    await cleanup(root);
  });

  it('aria2c downloads byte-exact from our seeder', async () => {
    seeder = await startSeeder({ torrents: [{ torrent: created.torrent, dir: osDir }], port: 0 });
    const p = aria2(['--seed-time=0', `--dir=${join(root, 'aria2-dl')}`, torrentPath]);
    expect(await p.exited).toBe(0);
    expect(await digestFolder(join(root, 'aria2-dl', 'tinycore'))).toEqual(await digestFolder(osDir));
    const peers = seeder.stats()[0]!.peers;
    expect(peers.reduce((s, x) => s + x.uploaded, 0)).toBeGreaterThanOrEqual(created.size);
    expect(
      peers.some((x) =>
        Buffer.from(x.peerId ?? '', 'hex')
          .toString('latin1')
          .startsWith('A2-'),
      ),
    ).toBe(true);
    // aria2c asks for 16 KiB blocks, every one answered by the serve path (serve.ts), none by webtorrent's
    const r = seeder.stats()[0]!.requests!;
    expect(r.received).toBeGreaterThanOrEqual(Math.ceil(created.size / (16 * 1024)));
    expect(r.fromCache + r.afterRead).toBe(r.received);
    expect(r.fromCache).toBeGreaterThan(0);
    await seeder.close();
    seeder = undefined;
  }, 120_000);

  it('our downloader fetches byte-exact from an aria2c seeder', async () => {
    // aria2c checks the existing files (-V) and seeds them; it announces to our tracker as a seed
    aria2(['-V', '--seed-ratio=0.0', '--seed-time=10', `--dir=${join(root, 'srv')}`, torrentPath]);
    const dl = await download({ torrent: created.torrent, dir: join(root, 'ours'), webSeedAfterMs: 60_000 });
    try {
      const s = dl.stats();
      expect(s.downloaded).toBe(created.size);
      expect(s.fromPeers).toBeGreaterThanOrEqual(created.size);
      expect(await digestFolder(dl.dir)).toEqual(await digestFolder(osDir));
    } finally {
      await dl.close();
    }
  }, 120_000);
});
