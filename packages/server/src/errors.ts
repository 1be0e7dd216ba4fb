/** Optional sink for log lines; the library never prints. Every method is optional. */
export interface Logger {
  debug?(msg: string, fields?: Record<string, unknown>): void;
  info?(msg: string, fields?: Record<string, unknown>): void;
  warn?(msg: string, fields?: Record<string, unknown>): void;
  error?(msg: string, fields?: Record<string, unknown>): void;
}

/** Stable codes of {@link ServerError}; callers match on `code`, never on the message. */
export const ServerErrorCode = {
  /** A service could not bind its port (in use, address not on this machine, privileged port). */
  Bind: 'SERVER_BIND',
  /** An option is invalid (e.g. a project without OSes, a bad extra command line). */
  BadOption: 'SERVER_BAD_OPTION',
  /** Start or build was aborted through `signal`. */
  Aborted: 'SERVER_ABORTED',
  /** The DHCP interface is missing or down, or no interface holds the server address. */
  Interface: 'SERVER_INTERFACE',
  /** Not root and without the capabilities DHCP and ports below 1024 need. */
  Privileges: 'SERVER_PRIVILEGES',
  /** A boot loader the configuration needs is not installed on the host. */
  LoaderMissing: 'SERVER_LOADER_MISSING',
  /** out/ or the phase-1 cache cannot be written (permissions, a full disk, a file in the way). */
  Io: 'SERVER_IO',
  /** A service failed to start for another reason (see `cause`). */
  Start: 'SERVER_START',
} as const;
export type ServerErrorCode = (typeof ServerErrorCode)[keyof typeof ServerErrorCode];

/** The one error class of @boottorrent/server: the message says what and where, `hint` how to fix it. */
export class ServerError extends Error {
  override readonly name = 'ServerError';
  readonly code: ServerErrorCode;
  readonly hint: string;
  constructor(code: ServerErrorCode, message: string, options?: { cause?: unknown; hint?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options?.hint ?? '';
  }
}
