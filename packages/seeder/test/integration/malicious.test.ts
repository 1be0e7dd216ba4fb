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
  tempDir,
  type JsonProcess,
} from './_helpers.js';

describe('a malicious peer serving corrupt blocks', () => {
  let root: string;
  let osDir: string;
  let created: CreatedTorrent;
  let torrentPath: string;
  let tracker: Awaited<ReturnType<typeof startTrackerProcess>>;
  const procs: JsonProcess[] = [];
  let seeder: Seeder | undefined;

  beforeAll(async () => {
    requireBuilt();
    root = await tempDir('evil');
    osDir = join(root, 'srv', 'alpine');
    await makeOsFolder(osDir, { 'vmlinuz-lts': 3_000_000, 'initramfs-lts': 9_000_001 });
    created = await createTorrent(osDir);
    torrentPath = join(root, 'alpine.torrent');
    await writeFile(torrentPath, created.torrent);
    tracker = await startTrackerProcess();
  });

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill('SIGKILL')));
    await seeder?.close();
    await tracker?.proc.kill();
    await cleanup(root);
  });

  it('rejects its pieces, bans it, refetches them and writes nothing corrupt', async () => {
    const evil = spawnNode('evil-peer.mjs', { torrent: torrentPath, announce: tracker.http });
    procs.push(evil);
    await evil.next((l) => l.event === 'ready');
    // At first the liar is the only peer, so every block of the first pieces comes from it.
    const victim = spawnNode('peer.mjs', {
      torrent: torrentPath,
      dir: join(root, 'dl'),
      announce: [tracker.http],
    });
    procs.push(victim);
    await victim.next((l) => (l.hashFails as number) > 0 && (l.bannedPeers as number) > 0, 60_000);
    const servedBeforeSeeder = evil.lines.length;
    // Now an honest seeder joins; the download must complete byte-exact from it.
    seeder = await startSeeder({
      torrents: [{ torrent: created.torrent, dir: osDir }],
      port: 0,
      host: '127.0.0.1',
      announce: [tracker.http],
    });
    const done = await victim.next((l) => l.event === 'done', 90_000);
    expect(done.downloaded).toBe(created.size);
    expect(done.bannedPeers).toBe(1);
    expect(done.hashFails as number).toBeGreaterThanOrEqual(1);
    expect(await digestFolder(join(root, 'dl', 'alpine'))).toEqual(await digestFolder(osDir));
    // Once banned, the liar is never asked again, though the tracker keeps listing it.
    expect(evil.lines.length - servedBeforeSeeder).toBeLessThan(5);
    // The verified byte count never went backwards and never counted a rejected piece.
    const seen = victim.lines.filter((l) => l.event === 'progress').map((l) => l.downloaded as number);
    expect(seen.every((v, i) => i === 0 || v >= seen[i - 1]!)).toBe(true);
  });
});
