import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A CLI failure the user can fix: printed as one line plus a hint, never a stack trace. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly hint = '',
    /** 2 for usage errors, 1 for everything else. */
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export type Options = NonNullable<ParseArgsConfig['options']>;

/** One `boottorrent <name>` command. */
export interface Command<O extends Options = Options> {
  name: string;
  summary: string;
  usage: string;
  /** Extra help text below the options. */
  details?: string;
  options: O;
  /** Help text per option (same keys as `options`). */
  optionHelp: Record<keyof O & string, string>;
  /** Positional arguments allowed: [min, max]. */
  positionals: [number, number];
  run(args: { values: Record<string, unknown>; positionals: string[] }): Promise<number>;
}

export function defineCommand<O extends Options>(c: Command<O>): Command {
  return c as unknown as Command;
}

export function parseCommandArgs(cmd: Command, argv: string[]) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: cmd.options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new CliError(
      (e as Error).message.split('\n')[0]!,
      `usage: ${cmd.usage} (see boottorrent ${cmd.name} --help)`,
      2,
    );
  }
  const [min, max] = cmd.positionals;
  if (parsed.positionals.length < min || parsed.positionals.length > max) {
    throw new CliError(
      parsed.positionals.length < min
        ? 'missing argument'
        : `unexpected argument "${parsed.positionals[max]}"`,
      `usage: ${cmd.usage}`,
      2,
    );
  }
  return parsed as { values: Record<string, unknown>; positionals: string[] };
}

export function commandHelp(cmd: Command): string {
  const lines = [`${cmd.summary}`, '', `Usage: ${cmd.usage}`, '', 'Options:'];
  const entries = Object.entries(cmd.options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ' <value>' : ''}`;
    return [flag, cmd.optionHelp[name] ?? ''] as const;
  });
  entries.push(['-h, --help', 'Show this help']);
  const width = Math.max(...entries.map(([f]) => f.length)) + 2;
  for (const [flag, help] of entries) lines.push(`  ${flag.padEnd(width)}${help}`);
  if (cmd.details) lines.push('', cmd.details);
  return lines.join('\n') + '\n';
}
