// A direct-boot image for the QEMU tests: phase-1 (zstd -3: fast to build; the initrd-builder QEMU
// test boots xz, the default) with the world's payload appended, and the kernel beside it.
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { buildPayload, buildPhase1, type HostParts } from '@boottorrent/initrd-builder';
import { AGENT_BUNDLE } from './pty.js';
import type { World } from './world.js';

/** Builds `dir/vmlinuz` and `dir/initrd.img` (phase-1 + the world's payload) for `-kernel`/`-initrd`. */
export async function directBootImage(dir: string, world: World, parts: HostParts) {
  const p1 = await buildPhase1({
    outDir: join(dir, 'phase1'),
    parts,
    agentBundle: AGENT_BUNDLE,
    compression: 'zstd',
    level: 3,
  });
  const torrents = await Promise.all(
    world.manifest.oss.map(async (o) => ({
      name: o.torrent,
      data: await readFile(join(world.payload, 'torrents', o.torrent)),
    })),
  );
  const payload = await buildPayload({
    out: join(dir, 'payload.cpio.gz'),
    manifest: world.manifest,
    torrents,
  });
  const initrd = join(dir, 'initrd.img');
  const ws = createWriteStream(initrd);
  for (const f of [...p1.initrds, payload.path]) await pipeline(createReadStream(f), ws, { end: false });
  await new Promise<void>((r) => ws.end(r));
  const kernel = join(dir, 'vmlinuz');
  await copyFile(p1.kernel, kernel);
  return { kernel, initrd };
}
