import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetns, type Netns } from '@boottorrent/testing/lab';
import { createTorrent, type CreatedTorrent } from '../../src/index.js';
import {
  cleanup,
  digestFolder,
  FIXTURES,
  JsonProcess,
  makeOsFolder,
  requireBuilt,
  tempDir,
} from './_helpers.js';

// BEP 14 local service discovery multicasts on the LAN, so it runs only inside a network namespace made
// here: loopback with multicast on and a 224.0.0.0/4 route, nothing else. No tracker, no server address.
describe('local service discovery (BEP 14) in a private network namespace', () => {
  let ns: Netns | undefined;
  let root: string;
  let osDir: string;
  let created: CreatedTorrent;
  let torrentPath: string;
  const procs: JsonProcess[] = [];

  const inNs = (script: string, arg: object): JsonProcess => {
    const p = new JsonProcess(
      ns!.spawn(process.execPath, [join(FIXTURES, script), JSON.stringify(arg)], {
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    procs.push(p);
    return p;
  };

  beforeAll(async () => {
    requireBuilt();
    ns = await createNetns({ prefix: 'bt5lsd', loopbackMulticast: true });
    root = await tempDir('lsd');
    osDir = join(root, 'srv', 'memtest');
    await makeOsFolder(osDir, { 'memtest86+.bin': 3_000_000 });
    created = await createTorrent(osDir); // no announce URL anywhere
    torrentPath = join(root, 'memtest.torrent');
    await writeFile(torrentPath, created.torrent);
  });

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill('SIGKILL')));
    await ns?.close();
    await cleanup(root);
  });

  it('finds the seeder with lsd on, and nothing without it', async () => {
    const seeder = inNs('seeder.mjs', { torrent: torrentPath, dir: osDir, port: 0, lsd: true });
    await seeder.next((l) => l.event === 'ready', 30_000);
    const without = inNs('peer.mjs', { torrent: torrentPath, dir: join(root, 'no-lsd'), lsd: false });
    const withLsd = inNs('peer.mjs', { torrent: torrentPath, dir: join(root, 'lsd'), lsd: true });
    const done = await withLsd.next((l) => l.event === 'done', 60_000);
    expect(done.fromPeers).toBe(created.size); // the seeder is not in serverPeers here
    expect(await digestFolder(join(root, 'lsd', 'memtest'))).toEqual(await digestFolder(osDir));
    await without.next((l) => l.event === 'progress', 30_000);
    const last = without.lines.filter((l) => l.event === 'progress').at(-1);
    expect(last).toBeDefined();
    expect(last!.downloaded).toBe(0);
    expect(last!.peers).toBe(0);
  });
});
