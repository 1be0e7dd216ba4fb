/**
 * A problem found in a project: one line for the user, saying what, where and how to fix it:
 * `config.yaml:14:3 dhcp.range.start: 10.0.0.9 is outside 10.77.0.0/24 — pick an address in that subnet`
 */
export interface Problem {
  severity: 'error' | 'warning';
  /** Path of the file, relative to the project directory. */
  file: string;
  /** 1-based, when known. */
  line?: number;
  column?: number;
  /** Dotted key path (`dhcp.range.start`), or '' for the file as a whole. */
  key: string;
  message: string;
  /** How to fix it. */
  hint: string;
}

export function formatProblem(p: Problem): string {
  const where = p.line === undefined ? p.file : `${p.file}:${p.line}:${p.column ?? 1}`;
  const key = p.key ? ` ${p.key}:` : '';
  const hint = p.hint ? ` — ${p.hint}` : '';
  return `${where}${key} ${p.message}${hint}`;
}

/** Stable codes of {@link ConfigError}; callers match on `code`, never on the message. */
export const ConfigErrorCode = {
  /** The directory already holds files (init). */
  NotEmpty: 'CONFIG_NOT_EMPTY',
  /** The project directory or its config file is missing. */
  NoProject: 'CONFIG_NO_PROJECT',
  /** The project has errors; `problems` lists them. */
  Invalid: 'CONFIG_INVALID',
  /** An option passed to a function is invalid (e.g. `initProject`'s `hostIp` is not IPv4). */
  BadOption: 'CONFIG_BAD_OPTION',
  /** A file could not be read or written. */
  Io: 'CONFIG_IO',
} as const;
export type ConfigErrorCode = (typeof ConfigErrorCode)[keyof typeof ConfigErrorCode];

/**
 * The one error class of @boottorrent/config. `message` says what failed and where; `hint` says how
 * to fix it ('' when there is nothing to suggest); `problems` lists every problem of an invalid project.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code: ConfigErrorCode;
  readonly hint: string;
  readonly problems: Problem[];
  constructor(
    code: ConfigErrorCode,
    message: string,
    options?: { cause?: unknown; hint?: string; problems?: Problem[] },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options?.hint ?? '';
    this.problems = options?.problems ?? [];
  }
}
