import { formatProblem, loadProject, type Project } from '@boottorrent/config';
import { CliError, CliErrorCode } from '../command.js';
import { err } from '../output.js';

/** Loads the project or fails with every problem listed (one line each). */
export async function requireProject(dir: string): Promise<Project> {
  const r = await loadProject(dir);
  for (const w of r.warnings) err(`warning: ${formatProblem(w)}`);
  if (!r.project) {
    for (const e of r.errors) err(`error: ${formatProblem(e)}`);
    throw new CliError(
      CliErrorCode.Project,
      `${r.errors.length} problem${r.errors.length === 1 ? '' : 's'} in the project`,
      { hint: `fix them, then run: boottorrent check ${dir}` },
    );
  }
  return r.project;
}
