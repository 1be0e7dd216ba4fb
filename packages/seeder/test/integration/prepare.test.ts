import { createServer } from 'node:net';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTorrent,
  prepareDownload,
  startSeeder,
  type CreatedTorrent,
  type Seeder,
} from '../../src/index.js';
import { cleanup, digestFolder, makeOsFolder, tempDir } from './_helpers.js';

/** Resolves once `pred` holds, polling (no absolute-time assertion: the test's timeout is the limit). */
async function until(pred: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** True when a TCP server can listen on `port` of 127.0.0.1 (nothing holds it any more). */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

// A real seeder in this process and a prepared download (the agent's menu countdown) on loopback.
describe('prepareDownload', () => {
  let root: string;
  let osDir: string;
  let created: CreatedTorrent;
  let expected: Record<string, string>;
  let seeder: Seeder;

  beforeAll(async () => {
    root = await tempDir('prepare');
    osDir = join(root, 'srv', 'debian');
    await makeOsFolder(osDir, { vmlinuz: 1_000_001, 'initrd.img': 5_000_000 });
    expected = await digestFolder(osDir);
    created = await createTorrent(osDir);
    seeder = await startSeeder({
      torrents: [{ torrent: created.torrent, dir: osDir }],
      port: 0,
      host: '127.0.0.1',
      announce: [],
    });
  });

  afterAll(async () => {
    await seeder?.close();
    await cleanup(root);
  });

  /** A download into `dir` from the test's seeder only (no tracker, no web seed). */
  const opts = (dir: string) => ({
    torrent: created.torrent,
    dir,
    host: '127.0.0.1',
    serverPeers: [`127.0.0.1:${seeder.port}`],
    webSeeds: [],
  });
  const live = (): number => seeder.stats()[0]!.peers.filter((p) => p.connected).length;
  const uploaded = (): number => seeder.stats()[0]!.uploaded;

  it('connects to the seeder while prepared, gets nothing before start(), then downloads', async () => {
    const dir = join(root, 'a');
    const before = uploaded();
    const prepared = await prepareDownload(opts(dir));
    try {
      await until(() => live() === 1, 'the prepared download to connect');
      // a super-seeder shows a connected peer a piece at once, and unchokes it once it is interested:
      // nothing is sent before it asks
      await new Promise((r) => setTimeout(r, 300));
      expect(uploaded()).toBe(before);
      const dl = await prepared.start();
      expect(dl.stats().downloaded).toBe(created.size);
      expect(dl.stats().fromServer).toBeGreaterThanOrEqual(created.size);
      expect(await digestFolder(join(dir, 'debian'))).toEqual(expected);
      await dl.close();
    } finally {
      await prepared.close();
    }
    await until(() => live() === 0, 'the seeder to see the peer leave');
  });

  it('with connect: false, nothing reaches the seeder before start()', async () => {
    const dir = join(root, 'b');
    const seen = seeder.stats()[0]!.peers.length;
    const prepared = await prepareDownload({ ...opts(dir), connect: false });
    try {
      await new Promise((r) => setTimeout(r, 300));
      expect(seeder.stats()[0]!.peers.length).toBe(seen);
      const dl = await prepared.start();
      expect(await digestFolder(join(dir, 'debian'))).toEqual(expected);
      await dl.close();
    } finally {
      await prepared.close();
    }
  });

  it('close() of a prepared download (another OS chosen) frees its port and its connections', async () => {
    const dir = join(root, 'c');
    const prepared = await prepareDownload(opts(dir));
    const port = prepared.port;
    await until(() => live() === 1, 'the prepared download to connect');
    expect(await portFree(port)).toBe(false);
    await prepared.close();
    await prepared.close(); // idempotent
    await until(() => live() === 0, 'the seeder to see the peer leave');
    expect(await portFree(port)).toBe(true);
    await expect(prepared.start()).rejects.toMatchObject({ code: 'SEEDER_CLOSED' });
    // nothing was written: the OS folder holds no data
    const files = await readdir(join(dir, 'debian')).catch(() => []);
    expect(files).toEqual([]);
  });

  it('an abort while prepared closes it, and start() then rejects', async () => {
    const ac = new AbortController();
    const prepared = await prepareDownload({ ...opts(join(root, 'd')), signal: ac.signal });
    const port = prepared.port;
    await until(() => live() === 1, 'the prepared download to connect');
    ac.abort();
    await until(() => live() === 0, 'the seeder to see the peer leave');
    await expect(prepared.start()).rejects.toMatchObject({ code: 'SEEDER_CLOSED' });
    await prepared.close();
    expect(await portFree(port)).toBe(true);
  });
});
