import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTorrent, download, startSeeder } from '../../src/index.js';
import { cleanup, digestFolder, makeOsFolder, tempDir } from './_helpers.js';

/** Torrents added to and removed from a running seeder, with a download of another in progress. */
describe('seeder.add and seeder.remove', () => {
  let root: string;
  beforeAll(async () => {
    root = await tempDir('add');
    await makeOsFolder(join(root, 'a'), { kernel: 300_000, initrd: 4_000_000 });
    await makeOsFolder(join(root, 'b'), { image: 1_500_000 });
  });
  afterAll(() => cleanup(root));

  it('serves a torrent added at run time on the same port, while others go on', async () => {
    const a = await createTorrent(join(root, 'a'), { name: 'a' });
    const b = await createTorrent(join(root, 'b'), { name: 'b' });
    await using seeder = await startSeeder({
      torrents: [{ torrent: a.torrent, dir: join(root, 'a') }],
      port: 0,
      host: '127.0.0.1',
    });
    const port = seeder.port;
    // Not awaited: the download of a runs while b is added.
    const firstP = download({
      torrent: a.torrent,
      dir: join(root, 'client-a'),
      serverPeers: [`127.0.0.1:${port}`],
    });
    await seeder.add({ torrent: b.torrent, dir: join(root, 'b') });
    await seeder.add({ torrent: b.torrent, dir: join(root, 'b') }); // already seeded: a no-op
    expect(seeder.port).toBe(port);
    expect(seeder.infoHashes).toEqual([a.infoHash, b.infoHash]);
    await using second = await download({
      torrent: b.torrent,
      dir: join(root, 'client-b'),
      serverPeers: [`127.0.0.1:${port}`],
    });
    expect(await digestFolder(second.dir)).toEqual(await digestFolder(join(root, 'b')));
    await using first = await firstP;
    expect(await digestFolder(first.dir)).toEqual(await digestFolder(join(root, 'a')));
    expect(first.stats().fromServer).toBe(a.size);

    expect(await seeder.remove(b.infoHash)).toBe(true);
    expect(await seeder.remove(b.infoHash)).toBe(false);
    expect(seeder.infoHashes).toEqual([a.infoHash]);
    expect(seeder.stats().map((s) => s.infoHash)).toEqual([a.infoHash]);
  });

  it('refuses a folder that does not match, leaving the seeder as it was', async () => {
    const a = await createTorrent(join(root, 'a'), { name: 'a' });
    const b = await createTorrent(join(root, 'b'), { name: 'b' });
    await using seeder = await startSeeder({
      torrents: [{ torrent: a.torrent, dir: join(root, 'a') }],
      port: 0,
      host: '127.0.0.1',
    });
    const err = await seeder.add({ torrent: b.torrent, dir: join(root, 'a') }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SEEDER_BAD_FOLDER' });
    expect(seeder.infoHashes).toEqual([a.infoHash]);
  });
});
