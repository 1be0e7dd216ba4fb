// Argument parsing for the benchmark's entry points: what parseArgs refuses (an unknown option, a
// missing value) is one line on stderr and exit code 2, not a stack trace.
import { parseArgs, type ParseArgsConfig } from 'node:util';

export function parseCli<T extends ParseArgsConfig>(
  tool: string,
  config: T,
): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (err) {
    process.stderr.write(`${tool}: ${(err as Error).message.split('\n')[0]}\n`);
    process.exit(2);
  }
}
