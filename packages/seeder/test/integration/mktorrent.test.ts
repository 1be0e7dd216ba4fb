import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import parseTorrent from 'parse-torrent';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTorrent } from '../../src/index.js';
import { cleanup, makeOsFolder, tempDir, tool } from './_helpers.js';

// Determinism checked against a tool nobody here wrote: Debian's mktorrent builds the same info
// dictionary (sorted files, v1, no private flag), so the info hashes must match exactly.
describe('createTorrent vs mktorrent', () => {
  let root: string;
  beforeAll(async () => {
    root = await tempDir('mktorrent');
    await makeOsFolder(join(root, 'fedora'), {
      'images/pxeboot/vmlinuz': 2_222_222,
      'images/pxeboot/initrd.img': 3_333_333,
      '.treeinfo': 512,
      'EFI/BOOT/grubx64.efi': 100_000,
    });
  });
  afterAll(() => cleanup(root));

  it('produces the info hash mktorrent -l 20 produces for the same folder', async () => {
    const mktorrent = tool('mktorrent');
    const out = join(root, 'm.torrent');
    const r = spawnSync(
      mktorrent,
      ['-t', '2', '-l', '20', '-a', 'http://127.0.0.1:6969/announce', '-o', out, join(root, 'fedora')],
      { encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    const theirs = await parseTorrent(await readFile(out));
    const ours = await createTorrent(join(root, 'fedora'), { pieceLength: 2 ** 20 });
    expect(ours.infoHash).toBe(theirs.infoHash);
  });
});
