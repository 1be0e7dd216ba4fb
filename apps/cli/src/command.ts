import { parseArgs } from 'node:util';
import { HELP, shortUsage, valueName } from './help.js';

/** Stable codes of {@link CliError}; callers match on `code`, never on the message. */
export const CliErrorCode = {
  /** Unknown command or option, missing or extra argument (exit 2). */
  Usage: 'CLI_USAGE',
  /** An option's value is missing, not allowed or out of range (exit 2). */
  BadOption: 'CLI_BAD_OPTION',
  /** The command needs root. */
  NotRoot: 'CLI_NOT_ROOT',
  /** The project has problems (listed above the error). */
  Project: 'CLI_PROJECT',
  /** Something the command needs is missing on this machine (packages, a kernel, …). */
  MissingDeps: 'CLI_MISSING_DEPS',
  /** A step did not finish in time or a child process failed. */
  Failed: 'CLI_FAILED',
  /** Stopped by Ctrl+C or SIGTERM. */
  Interrupted: 'CLI_INTERRUPTED',
} as const;
export type CliErrorCode = (typeof CliErrorCode)[keyof typeof CliErrorCode];

/**
 * A CLI failure the user can fix: printed as one line plus a hint, never a stack trace. Same contract
 * as every package's error class (`code`, `hint`, `cause`), plus the process exit code.
 */
export class CliError extends Error {
  override readonly name = 'CliError';
  readonly code: CliErrorCode;
  readonly hint: string;
  /** 2 for usage errors (the default for CLI_USAGE and CLI_BAD_OPTION), 1 for everything else. */
  readonly exitCode: number;
  constructor(
    code: CliErrorCode,
    message: string,
    options?: { cause?: unknown; hint?: string; exitCode?: number },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options?.hint ?? '';
    this.exitCode =
      options?.exitCode ?? (code === CliErrorCode.Usage || code === CliErrorCode.BadOption ? 2 : 1);
  }
}

interface OptionBase {
  /** One line for `--help`. */
  readonly description: string;
  /** One-letter alias (`-j`). */
  readonly short?: string;
  /** Name of the value in usage and help (`--out <dir>`). @default 'value' */
  readonly placeholder?: string;
  /** Shown as the default in `--help` when the real default is computed at run time (`<project>/out`). */
  readonly defaultText?: string;
}
/** A flag; `false` when absent. */
export interface BooleanOption extends Omit<OptionBase, 'placeholder' | 'defaultText'> {
  readonly type: 'boolean';
}
/** A string; `choices` restricts it (checked before the command runs). */
export interface StringOption extends OptionBase {
  readonly type: 'string';
  readonly multiple?: false;
  readonly default?: string;
  readonly choices?: readonly string[];
}
/** A repeatable string (`--host-root a --host-root b`); `[]` when absent. */
export interface ListOption extends OptionBase {
  readonly type: 'string';
  readonly multiple: true;
}
/** A whole number within `[min, max]`. */
export interface IntegerOption extends OptionBase {
  readonly type: 'integer';
  readonly default?: number;
  readonly min?: number;
  readonly max?: number;
}
export type OptionSpec = BooleanOption | StringOption | ListOption | IntegerOption;
export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** A positional argument; one without a default is required. */
export interface PositionalSpec {
  readonly name: string;
  readonly description: string;
  readonly default?: string;
}

type ValueOf<S> = S extends { type: 'boolean' }
  ? boolean
  : S extends { type: 'integer' }
    ? number
    : S extends { multiple: true }
      ? string[]
      : S extends { choices: readonly (infer C)[] }
        ? C
        : string;
type AlwaysSet<S> = S extends { type: 'boolean' } | { multiple: true } | { default: unknown } ? true : false;

/** Parsed option values, typed from the specs: defaults applied, `undefined` only when there is none. */
export type Values<O extends OptionSpecs> = {
  -readonly [K in keyof O]: AlwaysSet<O[K]> extends true ? ValueOf<O[K]> : ValueOf<O[K]> | undefined;
};
export type Positionals<P extends readonly PositionalSpec[]> = { [K in P[number]['name']]: string };
export interface Args<O extends OptionSpecs, P extends readonly PositionalSpec[]> {
  values: Values<O>;
  positionals: Positionals<P>;
}

/** What a command's lazily loaded module exports. */
export interface CommandModule<O extends OptionSpecs, P extends readonly PositionalSpec[]> {
  run(args: Args<O, P>): Promise<number>;
}

/** One `boottorrent <name>` command's metadata, from which its usage and `--help` are generated. */
export interface CommandMeta<
  O extends OptionSpecs = OptionSpecs,
  P extends readonly PositionalSpec[] = readonly PositionalSpec[],
> {
  readonly name: string;
  readonly summary: string;
  readonly options: O;
  readonly positionals: P;
  /** Extra help text below the options, one paragraph (wrapped to the help's width). */
  readonly details?: string;
}

/**
 * A command: its metadata and `load()`, a dynamic import of the module with `run`, so that `--help`
 * never loads what `run` needs.
 */
export interface Command<
  O extends OptionSpecs = OptionSpecs,
  P extends readonly PositionalSpec[] = readonly PositionalSpec[],
> extends CommandMeta<O, P> {
  load(): Promise<CommandModule<O, P>>;
}

/** The `args` a command's `run` receives. */
export type ArgsOf<C> = C extends CommandMeta<infer O, infer P> ? Args<O, P> : never;

/** Defines a command's metadata; a default outside its choices is a bug and throws at once. */
export function defineCommand<const O extends OptionSpecs, const P extends readonly PositionalSpec[]>(
  c: CommandMeta<O, P>,
): CommandMeta<O, P> {
  for (const [name, o] of Object.entries(c.options)) {
    if (o.type === 'string' && !o.multiple && o.choices && o.default !== undefined)
      if (!o.choices.includes(o.default)) throw new Error(`${c.name} --${name}: default not in choices`);
  }
  return c;
}

/**
 * Joins a command's metadata with the dynamic import of its `run` module. (Apart from the metadata
 * so that the module can type its `run` from the metadata without a circular type.)
 */
export function lazyCommand<O extends OptionSpecs, P extends readonly PositionalSpec[]>(
  meta: CommandMeta<O, P>,
  load: () => Promise<CommandModule<O, P>>,
): Command<O, P> {
  return { ...meta, load };
}

/** `a`, `a or b`, `a, b or c`. */
const orList = (xs: readonly string[]) =>
  xs.length < 2 ? (xs[0] ?? '') : `${xs.slice(0, -1).join(', ')} or ${xs.at(-1)}`;

/** The result of parsing: the args, or `help` when `-h`/`--help` was given anywhere before `--`. */
export type Parsed<O extends OptionSpecs, P extends readonly PositionalSpec[]> =
  ({ help: false } & Args<O, P>) | { help: true };

/**
 * Parses argv with node:util's parseArgs, then checks each token against the specs so every mistake
 * gets one line saying what and how to fix (exit 2), applies defaults and converts integers.
 */
export function parseCommandArgs<O extends OptionSpecs, P extends readonly PositionalSpec[]>(
  cmd: CommandMeta<O, P>,
  argv: string[],
): Parsed<O, P> {
  const specs: Record<string, OptionSpec> = cmd.options;
  const config = Object.fromEntries(
    Object.entries(specs).map(([name, o]) => [
      name,
      {
        type: o.type === 'boolean' ? 'boolean' : 'string',
        ...(o.short ? { short: o.short } : {}),
        ...(o.type === 'string' && o.multiple ? { multiple: true } : {}),
      } as const,
    ]),
  );
  config[HELP.name] = { type: 'boolean', short: HELP.short };
  const { tokens } = parseArgs({
    args: argv,
    options: config,
    allowPositionals: true,
    strict: false,
    tokens: true,
  });
  if (tokens.some((t) => t.kind === 'option' && t.name === HELP.name)) return { help: true };

  const usage = { hint: `usage: ${shortUsage(cmd)}` };
  const values: Record<string, unknown> = {};
  const given: string[] = [];
  for (const t of tokens) {
    if (t.kind === 'positional') given.push(t.value);
    if (t.kind !== 'option') continue;
    const o = specs[t.name];
    if (!o) throw new CliError(CliErrorCode.Usage, `unknown option ${t.rawName}`, usage);
    const flag = `--${t.name}`;
    if (o.type === 'boolean') {
      if (t.value !== undefined)
        throw new CliError(CliErrorCode.BadOption, `${flag} takes no value, got "${t.value}"`, {
          hint: `write ${flag} alone`,
        });
      values[t.name] = true;
      continue;
    }
    const example = `${flag} ${valueName(o)}`;
    if (t.value === undefined)
      throw new CliError(CliErrorCode.BadOption, `${flag} needs a value`, { hint: `write ${example}` });
    if (!t.inlineValue && t.value.startsWith('-'))
      throw new CliError(CliErrorCode.BadOption, `${flag} needs a value, got the option "${t.value}"`, {
        hint: `write ${example}, or ${flag}=${t.value} if that is the value`,
      });
    if (o.type === 'string' && o.multiple)
      values[t.name] = [...((values[t.name] as string[] | undefined) ?? []), t.value];
    else if (o.type === 'integer') values[t.name] = toInteger(cmd.name, t.name, o, t.value);
    else values[t.name] = checkChoice(cmd.name, t.name, o, t.value);
  }
  for (const [name, o] of Object.entries(specs)) {
    if (values[name] !== undefined) continue;
    if (o.type === 'boolean') values[name] = false;
    else if (o.type === 'string' && o.multiple) values[name] = [];
    else if (o.default !== undefined) values[name] = o.default;
  }

  const positionals: Record<string, string> = {};
  const specsP: readonly PositionalSpec[] = cmd.positionals;
  if (given.length > specsP.length)
    throw new CliError(CliErrorCode.Usage, `unexpected argument "${given[specsP.length]}"`, usage);
  specsP.forEach((p, i) => {
    const v = given[i] ?? p.default;
    if (v === undefined) throw new CliError(CliErrorCode.Usage, `missing argument <${p.name}>`, usage);
    positionals[p.name] = v;
  });
  return { help: false, values: values as Values<O>, positionals: positionals as Positionals<P> };
}

function toInteger(cmd: string, name: string, o: IntegerOption, raw: string): number {
  const n = Number(raw);
  const min = o.min ?? -Infinity;
  const max = o.max ?? Infinity;
  if (raw.trim() !== '' && Number.isInteger(n) && n >= min && n <= max) return n;
  const range =
    o.max === undefined ? (o.min === undefined ? '' : ` ≥ ${min}`) : ` from ${o.min ?? '…'} to ${max}`;
  throw new CliError(CliErrorCode.BadOption, `--${name} must be a whole number${range}, got "${raw}"`, {
    hint: `see boottorrent ${cmd} --help`,
  });
}

function checkChoice(cmd: string, name: string, o: StringOption, raw: string): string {
  if (!o.choices || o.choices.includes(raw)) return raw;
  throw new CliError(CliErrorCode.BadOption, `--${name} must be ${orList(o.choices)}, got "${raw}"`, {
    hint: `see boottorrent ${cmd} --help`,
  });
}
