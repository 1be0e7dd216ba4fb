/** The CLI's only ways to print (libraries never do). */
export function out(line: string): void {
  process.stdout.write(line + '\n');
}

export function err(line: string): void {
  process.stderr.write(line + '\n');
}

/**
 * A known error has the shape every package's error class shares: an Error with a string `code` and
 * a string `hint`. The CLI recognises it by that shape, not by importing each package's class.
 */
export interface KnownError extends Error {
  code: string;
  hint: string;
  /** A ConfigError's problems (every problem of an invalid project). */
  problems?: unknown;
  /** A CliError's exit code. */
  exitCode?: unknown;
}

export function isKnownError(e: unknown): e is KnownError {
  if (!(e instanceof Error)) return false;
  const { code, hint } = e as Partial<KnownError>;
  return typeof code === 'string' && typeof hint === 'string';
}

/**
 * Prints an error as the CLI promises and returns the exit code: a known error as one line, its
 * problems and its hint (exit 1, or a CliError's own code); anything else is our bug: the stack, 70.
 * `print` is a seam for tests.
 */
export async function reportError(e: unknown, print: (line: string) => void = err): Promise<number> {
  if (!isKnownError(e)) {
    print('boottorrent: internal error (this is a bug; please report it with the text below)');
    print(e instanceof Error ? (e.stack ?? e.message) : String(e));
    return 70;
  }
  print(`boottorrent: ${e.message}`);
  if (Array.isArray(e.problems) && e.problems.length) {
    // Only a ConfigError carries problems, so @boottorrent/config is loaded already.
    const { formatProblem } = await import('@boottorrent/config');
    for (const p of e.problems as Parameters<typeof formatProblem>[0][]) print(`  ${formatProblem(p)}`);
  }
  if (e.hint) print(`hint: ${e.hint}`);
  return typeof e.exitCode === 'number' ? e.exitCode : 1;
}
