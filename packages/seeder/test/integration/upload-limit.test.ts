import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTorrent, download, startSeeder, uploadBurstBytes } from '../../src/index.js';
import { cleanup, digestFolder, makeOsFolder, tempDir } from './_helpers.js';

/**
 * The least time `size` bytes can take under a cap of `rate` bytes/s. A lower bound only (a loaded
 * machine is slower, never faster): the bucket lets out its documented burst and one 16 KiB block on
 * credit, the rest at the rate.
 */
function floorMs(size: number, rate: number): number {
  return ((size - uploadBurstBytes(rate) - 16 * 1024) / rate) * 1000;
}

/** seeder.setUploadLimit: a capped seeder serves whole, correct downloads; lifted, it serves again. */
describe('seeder.setUploadLimit', () => {
  let root: string;
  beforeAll(async () => {
    root = await tempDir('limit');
    await makeOsFolder(join(root, 'os'), { kernel: 300_000, initrd: 2_000_000 });
  });
  afterAll(() => cleanup(root));

  it('holds uploads to the cap, serves correct bytes, and lets go when lifted', async () => {
    const t = await createTorrent(join(root, 'os'), { name: 'os' });
    await using seeder = await startSeeder({
      torrents: [{ torrent: t.torrent, dir: join(root, 'os') }],
      port: 0,
      host: '127.0.0.1',
    });
    expect(seeder.uploadLimit).toBeUndefined();
    seeder.setUploadLimit(1024 * 1024);
    expect(seeder.uploadLimit).toBe(1024 * 1024);
    const get = (name: string) =>
      download({
        torrent: t.torrent,
        dir: join(root, name),
        serverPeers: [`127.0.0.1:${seeder.port}`],
        webSeeds: [],
      });
    {
      const start = performance.now();
      await using capped = await get('capped');
      expect(performance.now() - start).toBeGreaterThanOrEqual(floorMs(t.size, 1024 * 1024));
      expect(capped.stats().fromServer).toBe(t.size);
      expect(await digestFolder(capped.dir)).toEqual(await digestFolder(join(root, 'os')));
    }
    seeder.setUploadLimit(undefined);
    expect(seeder.uploadLimit).toBeUndefined();
    await using free = await get('free');
    expect(await digestFolder(free.dir)).toEqual(await digestFolder(join(root, 'os')));
    expect(seeder.stats()[0]!.uploaded).toBe(2 * t.size);
  });

  it('takes the cap as a start option, on the same limiter', async () => {
    const t = await createTorrent(join(root, 'os'), { name: 'os' });
    await using seeder = await startSeeder({
      torrents: [{ torrent: t.torrent, dir: join(root, 'os') }],
      port: 0,
      host: '127.0.0.1',
      uploadLimit: 1024 * 1024,
    });
    expect(seeder.uploadLimit).toBe(1024 * 1024);
    const start = performance.now();
    await using capped = await download({
      torrent: t.torrent,
      dir: join(root, 'start-capped'),
      serverPeers: [`127.0.0.1:${seeder.port}`],
      webSeeds: [],
    });
    expect(performance.now() - start).toBeGreaterThanOrEqual(floorMs(t.size, 1024 * 1024));
    expect(await digestFolder(capped.dir)).toEqual(await digestFolder(join(root, 'os')));
    await expect(
      startSeeder({ torrents: [{ torrent: t.torrent, dir: join(root, 'os') }], port: 0, uploadLimit: 0 }),
    ).rejects.toMatchObject({ code: 'SEEDER_BAD_OPTION', message: expect.not.stringContaining('\n') });
  });

  it('refuses a limit that is not a positive number, in one line', async () => {
    const t = await createTorrent(join(root, 'os'), { name: 'os' });
    await using seeder = await startSeeder({
      torrents: [{ torrent: t.torrent, dir: join(root, 'os') }],
      port: 0,
      host: '127.0.0.1',
    });
    for (const bad of [0, -5, Number.NaN, Number.POSITIVE_INFINITY])
      expect(() => seeder.setUploadLimit(bad)).toThrow(
        expect.objectContaining({ code: 'SEEDER_BAD_OPTION', message: expect.not.stringContaining('\n') }),
      );
    expect(seeder.uploadLimit).toBeUndefined();
  });
});
