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

// Peer exchange (BEP 11) from the server's seeder: with the tracker gone, a machine that reaches only the
// server's seeder learns the other machines from it. webtorrent alone never sends PEX (receive only).
describe('peer exchange when the tracker is down', () => {
  let root: string;
  let osDir: string;
  let created: CreatedTorrent;
  let torrentPath: string;
  const procs: JsonProcess[] = [];
  let seeder: Seeder | undefined;

  beforeAll(async () => {
    requireBuilt();
    root = await tempDir('pex');
    osDir = join(root, 'srv', 'rescue');
    await makeOsFolder(osDir, { 'rescue.img': 8 * 1024 * 1024 + 5 });
    created = await createTorrent(osDir);
    torrentPath = join(root, 'rescue.torrent');
    await writeFile(torrentPath, created.torrent);
  });
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill('SIGKILL')));
    await seeder?.close();
    await cleanup(root);
  });

  it('lets a newcomer find the other machines through the seeder, and only with pex on', async () => {
    const tracker = await startTrackerProcess(); // announce interval 2 s
    const announce = [tracker.http];
    seeder = await startSeeder({
      torrents: [{ torrent: created.torrent, dir: osDir }],
      port: 0,
      announce,
      uploadLimit: 2 * 1024 * 1024,
    });
    const serverPeers = [`127.0.0.1:${seeder.port}`];
    const spawnPeer = (name: string, extra: object): JsonProcess => {
      const p = spawnNode('peer.mjs', {
        torrent: torrentPath,
        dir: join(root, name),
        announce,
        serverPeers,
        ...extra,
      });
      procs.push(p);
      return p;
    };
    const early = ['a', 'b'].map((n) => spawnPeer(n, {}));
    await Promise.all(early.map((p) => p.next((l) => (l.downloaded as number) > 0, 30_000)));
    // the seeder re-announces every 2 s and so learns a's and b's listening addresses; then the tracker dies
    await new Promise((r) => setTimeout(r, 3000));
    await tracker.proc.kill();
    const withPex = spawnPeer('c', { webSeedAfterMs: 60_000 });
    const withoutPex = spawnPeer('d', { pex: false, webSeedAfterMs: 60_000 });
    const [c, d] = await Promise.all([
      withPex.next((l) => l.event === 'done', 60_000),
      withoutPex.next((l) => l.event === 'done', 60_000),
    ]);
    expect(c.fromPeers as number).toBeGreaterThan(0);
    expect(d.fromPeers).toBe(0);
    expect(d.fromServer).toBe(created.size);
    expect(await digestFolder(join(root, 'c', 'rescue'))).toEqual(await digestFolder(osDir));
  });
});
