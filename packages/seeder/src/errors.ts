/**
 * Minimal logger every package declares for itself. Libraries never print: pass one to see what
 * happens inside (the seeder logs peer bans, web-seed fallback and swarm errors).
 */
export interface Logger {
  debug?(msg: string, data?: object): void;
  info?(msg: string, data?: object): void;
  warn?(msg: string, data?: object): void;
  error?(msg: string, data?: object): void;
}

/** Stable error codes of {@link SeederError}; callers match on `code`, never on the message. */
export const SeederErrorCode = {
  /** The folder to hash or seed is missing, not a folder, or holds no file bytes. */
  BadFolder: 'SEEDER_BAD_FOLDER',
  /** The .torrent bytes could not be parsed. */
  BadTorrent: 'SEEDER_BAD_TORRENT',
  /** The peer port could not be bound (port in use, address not on this machine). */
  Bind: 'SEEDER_BIND',
  /** The operation was aborted through its `signal`. */
  Aborted: 'SEEDER_ABORTED',
  /** The swarm client failed (store write error, torrent error). */
  Swarm: 'SEEDER_SWARM',
  /** An option is out of range (e.g. `superSeedSlots: 0`). */
  BadOption: 'SEEDER_BAD_OPTION',
  /** The handle was already closed. */
  Closed: 'SEEDER_CLOSED',
} as const;
export type SeederErrorCode = (typeof SeederErrorCode)[keyof typeof SeederErrorCode];

/**
 * The one error class of @boottorrent/seeder. `message` says what failed and where; `hint` says
 * how to fix it ('' when there is nothing to suggest).
 */
export class SeederError extends Error {
  override readonly name = 'SeederError';
  readonly code: SeederErrorCode;
  readonly hint: string;
  constructor(code: SeederErrorCode, message: string, options?: { cause?: unknown; hint?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options?.hint ?? '';
  }
}

export function abortError(signal: AbortSignal | undefined, what: string): SeederError {
  return new SeederError(SeederErrorCode.Aborted, `${what} aborted`, { cause: signal?.reason });
}
