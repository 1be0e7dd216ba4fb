import { wakeProject } from '@boottorrent/server';
import type { ArgsOf } from '../command.js';
import { out } from '../output.js';
import { requireProject } from './_project.js';
import type { wake } from './index.js';

export async function run({ values, positionals }: ArgsOf<typeof wake>): Promise<number> {
  const project = await requireProject(positionals.dir);
  const sent = await wakeProject(project, { macs: values.mac, all: values.all, outDir: values.out });
  for (const s of sent) out(`${s.mac}: magic packet sent to ${s.to}:${s.port} on ${s.iface}`);
  return 0;
}
