import { fileURLToPath } from 'node:url';
import { installService, removeService } from '@boottorrent/server';
import { CliError, CliErrorCode, type ArgsOf } from '../command.js';
import { out } from '../output.js';
import { requireProject } from './_project.js';
import type { service } from './index.js';

export async function run({ values, positionals }: ArgsOf<typeof service>): Promise<number> {
  const { action, dir } = positionals;
  if (action !== 'install' && action !== 'remove')
    throw new CliError(CliErrorCode.Usage, `unknown action "${action}": expected install or remove`, {
      hint: 'usage: boottorrent service install|remove [dir]',
    });
  const project = await requireProject(dir);
  const o = { project, user: values.user, root: values.root };
  if (action === 'remove') {
    const removed = await removeService(o);
    out(removed ? `removed ${removed}` : `no unit for ${project.dir} to remove`);
    return 0;
  }
  // The bundle this command runs from: dist/cli.js.
  const cli = fileURLToPath(new URL('./cli.js', import.meta.url));
  const r = await installService({ ...o, cli });
  out(`wrote ${r.unitFile} and ${r.sysusersFile}`);
  if (values.root === undefined)
    out(
      `start it with: systemctl enable --now ${r.unit}${r.reloaded ? '' : ' (systemd is not running here)'}`,
    );
  return 0;
}
