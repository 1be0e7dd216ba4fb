import { buildOut, formatBytes } from '@boottorrent/server';
import type { ArgsOf } from '../command.js';
import { out } from '../output.js';
import { requireProject } from './_project.js';
import type { build } from './index.js';

export async function run({ values, positionals }: ArgsOf<typeof build>): Promise<number> {
  const project = await requireProject(positionals.dir);
  const built = await buildOut({
    project,
    outDir: values.out,
    hostRoots: values['host-root'],
    phase1Dir: values['phase1-dir'],
    onProgress: (e) => {
      if (e.step === 'done') out(`${e.what}: ${e.cached ? 'up to date' : `built in ${e.ms} ms`}`);
    },
  });
  for (const t of built.torrents)
    out(`  ${t.os.name}: ${formatBytes(t.size)}, ${t.pieceCount} pieces, info hash ${t.infoHash}`);
  for (const [part, size] of Object.entries(built.phase1.sizes))
    out(`  phase-1 ${part}: ${formatBytes(size)}`);
  out(`out: ${built.outDir}`);
  return 0;
}
