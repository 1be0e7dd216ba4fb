import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTorrent, download, SeederError, startSeeder } from '../../src/index.js';
import { cleanup, digestFolder, makeOsFolder, tempDir } from './_helpers.js';

describe('startSeeder and download in one process', () => {
  let root: string;
  let osDir: string;
  beforeAll(async () => {
    root = await tempDir('inproc');
    osDir = join(root, 'folder-on-server');
    await makeOsFolder(osDir, { kernel: 700_000, 'sub/initrd': 2_600_000 });
  });
  afterAll(() => cleanup(root));

  it('seeds a folder in place under any torrent name; files land in dir/<name>', async () => {
    const created = await createTorrent(osDir, { name: 'ubuntu' });
    await using seeder = await startSeeder({
      torrents: [{ torrent: created.torrent, dir: osDir }],
      port: 0,
      host: '127.0.0.1',
    });
    expect(seeder.infoHashes).toEqual([created.infoHash]);
    const peers: string[] = [];
    let uploadEvents = 0;
    seeder.on('peer', (p) => peers.push(p.peer));
    seeder.on('upload', (u) => (uploadEvents += u.bytes));
    await using dl = await download({
      torrent: created.torrent,
      dir: join(root, 'client'),
      serverPeers: [`127.0.0.1:${seeder.port}`],
    });
    expect(dl.dir).toBe(join(root, 'client', 'ubuntu'));
    expect(dl.files).toEqual([
      { path: 'kernel', length: 700_000 },
      { path: 'sub/initrd', length: 2_600_000 },
    ]);
    expect(await digestFolder(dl.dir)).toEqual(await digestFolder(osDir));
    expect(dl.stats()).toMatchObject({
      downloaded: created.size,
      fromServer: created.size,
      fromPeers: 0,
      fromWebSeed: 0,
    });
    expect(peers.length).toBe(1);
    expect(uploadEvents).toBe(created.size);
    const [s] = seeder.stats();
    expect(s!.uploaded).toBe(created.size);
    expect(s!.peers[0]).toMatchObject({ kind: 'peer', uploaded: created.size, connected: true });
  });

  it('turns Nagle off on both ends of a peer connection', async () => {
    const created = await createTorrent(osDir);
    const calls: { local?: number; remote?: number; on: boolean }[] = [];
    const real = Socket.prototype.setNoDelay;
    const spy = vi.spyOn(Socket.prototype, 'setNoDelay').mockImplementation(function (this: Socket, on) {
      calls.push({ local: this.localPort, remote: this.remotePort, on: on ?? true });
      return real.call(this, on);
    });
    try {
      await using seeder = await startSeeder({
        torrents: [{ torrent: created.torrent, dir: osDir }],
        port: 0,
        host: '127.0.0.1',
      });
      await using dl = await download({
        torrent: created.torrent,
        dir: join(root, 'nagle'),
        serverPeers: [`127.0.0.1:${seeder.port}`],
        webSeeds: [],
      });
      expect(dl.stats().fromServer).toBe(created.size);
      expect(calls).toContainEqual(expect.objectContaining({ remote: seeder.port, on: true })); // the downloader's end
      expect(calls).toContainEqual(expect.objectContaining({ local: seeder.port, on: true })); // the seeder's end
    } finally {
      spy.mockRestore();
    }
  });

  it('resumes: files already in place are verified, good pieces kept, bad ones fetched again', async () => {
    const created = await createTorrent(osDir, { pieceLength: 65_536 });
    await using seeder = await startSeeder({
      torrents: [{ torrent: created.torrent, dir: osDir }],
      port: 0,
      host: '127.0.0.1',
    });
    const dest = join(root, 'resume', 'folder-on-server');
    await mkdir(join(dest, 'sub'), { recursive: true });
    await copyFile(join(osDir, 'kernel'), join(dest, 'kernel')); // whole and right
    const initrd = await readFile(join(osDir, 'sub/initrd'));
    initrd[100_000] = initrd[100_000]! ^ 0xff; // one byte wrong: that piece must come again
    await writeFile(join(dest, 'sub/initrd'), initrd);
    await using dl = await download({
      torrent: created.torrent,
      dir: join(root, 'resume'),
      serverPeers: [`127.0.0.1:${seeder.port}`],
      webSeeds: [],
    });
    expect(await digestFolder(dl.dir)).toEqual(await digestFolder(osDir));
    // only the bad piece (64 KiB) moved: the kernel and the rest of the initrd were verified in place
    expect(dl.stats().fromServer).toBe(65_536);
  });

  it('seeds for the given time after the download, counting what it uploads', async () => {
    const created = await createTorrent(osDir);
    // skipVerify: the folder is trusted (as after a hash-cache hit) and served without being reread
    await using seeder = await startSeeder({
      torrents: [{ torrent: created.torrent, dir: osDir }],
      port: 0,
      skipVerify: true,
    });
    await using first = await download({
      torrent: created.torrent,
      dir: join(root, 'seed-a'),
      serverPeers: [`127.0.0.1:${seeder.port}`],
    });
    await seeder.close();
    const s0 = performance.now();
    const seeding = first.seedFor(1.5, { onProgress: () => {} });
    await using second = await download({
      torrent: created.torrent,
      dir: join(root, 'seed-b'),
      serverPeers: [`127.0.0.1:${first.port}`],
    });
    // `first` is dialled as if it were the server (no tracker here), so its bytes count as fromServer
    expect(second.stats().fromServer).toBe(created.size);
    const totals = await seeding;
    // It ends on its own timer and not before: a loaded machine is late, never early (1 ms of slack for
    // the timer's clock granularity); 10x the time catches one that ignores it, whatever the load.
    const took = performance.now() - s0;
    expect(took).toBeGreaterThanOrEqual(1499);
    expect(took).toBeLessThan(15_000);
    expect(totals.uploaded).toBe(created.size);
    const ac = new AbortController();
    const aborted = first.seedFor(60, { signal: ac.signal });
    ac.abort();
    await expect(aborted).rejects.toMatchObject({ code: 'SEEDER_ABORTED' });
  });

  it('refuses a folder that does not match the torrent', async () => {
    const created = await createTorrent(osDir);
    const other = join(root, 'other');
    await makeOsFolder(other, { kernel: 700_000, 'sub/initrd': 2_600_000 });
    const err = await startSeeder({ torrents: [{ torrent: created.torrent, dir: other }], port: 0 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SeederError);
    expect((err as SeederError).code).toBe('SEEDER_BAD_FOLDER');
    await expect(
      startSeeder({ torrents: [{ torrent: new Uint8Array([1, 2, 3]), dir: osDir }] }),
    ).rejects.toMatchObject({ code: 'SEEDER_BAD_TORRENT' });
    // a half-copied folder is refused even when verification is skipped
    const partial = join(root, 'partial');
    await makeOsFolder(partial, { kernel: 700_000 });
    await expect(
      startSeeder({ torrents: [{ torrent: created.torrent, dir: partial }], port: 0, skipVerify: true }),
    ).rejects.toMatchObject({
      code: 'SEEDER_BAD_FOLDER',
      message: expect.stringMatching(/sub\/initrd: missing$/),
      hint: `rebuild the torrent for ${partial}`,
    });
  });

  it('closes the seeder when its signal aborts, freeing the port', async () => {
    const created = await createTorrent(osDir);
    const ac = new AbortController();
    const seeder = await startSeeder({
      torrents: [{ torrent: created.torrent, dir: osDir }],
      port: 0,
      host: '127.0.0.1',
      signal: ac.signal,
    });
    const port = seeder.port;
    ac.abort();
    await seeder.close(); // idempotent: resolves with the abort-triggered close
    const server = createServer();
    await new Promise<void>((resolve, reject) =>
      server.once('error', reject).listen(port, '127.0.0.1', resolve),
    );
    server.close();
  });

  it('rejects an aborted download with ABORTED', async () => {
    const created = await createTorrent(osDir);
    const ac = new AbortController();
    const p = download({
      torrent: created.torrent,
      dir: join(root, 'aborted'),
      signal: ac.signal,
      webSeedAfterMs: 60_000,
    });
    setTimeout(() => ac.abort(), 200);
    await expect(p).rejects.toMatchObject({ code: 'SEEDER_ABORTED' });
  });
});
