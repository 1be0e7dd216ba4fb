import { buildOut } from '../server/build.js';
import { bytes } from '../server/view.js';
import { defineCommand } from '../command.js';
import { out } from '../output.js';
import { requireProject } from './_project.js';

export const buildCommand = defineCommand({
  name: 'build',
  summary: 'Build out/: torrents, the payload initrd, phase-1 and the boot loaders (start does this too).',
  usage: 'boottorrent build [dir] [--out <dir>] [--host-root <dir>]...',
  options: {
    out: { type: 'string' },
    'host-root': { type: 'string', multiple: true },
    'phase1-dir': { type: 'string' },
  },
  optionHelp: {
    out: 'Output directory (default <project>/out)',
    'host-root':
      'Also look here for the kernel, its modules, busybox and kexec (an unpacked .deb); repeatable',
    'phase1-dir': 'Where phase-1 is built and cached (default <out>/phase1); one can serve several projects',
  },
  positionals: [0, 1],
  details:
    'Idempotent: hashes are cached by path, size and mtime; phase-1 is rebuilt only when its inputs change.',
  async run({ values, positionals }) {
    const project = await requireProject(positionals[0] ?? '.');
    const built = await buildOut({
      project,
      outDir: values.out as string | undefined,
      hostRoots: values['host-root'] as string[] | undefined,
      phase1Dir: values['phase1-dir'] as string | undefined,
      onProgress: (e) => {
        if (e.step === 'done') out(`${e.what}: ${e.cached ? 'up to date' : `built in ${e.ms} ms`}`);
      },
    });
    for (const t of built.torrents)
      out(`  ${t.os.name}: ${bytes(t.size)}, ${t.pieceCount} pieces, info hash ${t.infoHash}`);
    for (const [part, size] of Object.entries(built.phase1.sizes)) out(`  phase-1 ${part}: ${bytes(size)}`);
    out(`out: ${built.outDir}`);
    return 0;
  },
});
