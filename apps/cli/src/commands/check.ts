import { formatProblem, loadProject } from '@boottorrent/config';
import type { ArgsOf } from '../command.js';
import { out } from '../output.js';
import type { check } from './index.js';

export async function run({ values, positionals }: ArgsOf<typeof check>): Promise<number> {
  const r = await loadProject(positionals.dir);
  if (values.json) {
    out(
      JSON.stringify(
        {
          ok: r.errors.length === 0,
          errors: r.errors.map((p) => ({ ...p, text: formatProblem(p) })),
          warnings: r.warnings.map((p) => ({ ...p, text: formatProblem(p) })),
          oss: r.project?.oss.map((o) => ({ name: o.name, dispname: o.dispname, method: o.method })) ?? [],
        },
        null,
        2,
      ),
    );
    return r.errors.length ? 1 : 0;
  }
  for (const w of r.warnings) out(`warning: ${formatProblem(w)}`);
  for (const e of r.errors) out(`error: ${formatProblem(e)}`);
  if (r.project) {
    const { oss, configFile } = r.project;
    out(
      `ok: ${configFile} and ${oss.length} OS folder${oss.length === 1 ? '' : 's'} (${oss.map((o) => o.name).join(', ')})`,
    );
    return 0;
  }
  out(`${r.errors.length} error${r.errors.length === 1 ? '' : 's'}`);
  return 1;
}
