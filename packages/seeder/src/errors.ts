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
  BadFolder: 'BAD_FOLDER',
  /** The .torrent bytes could not be parsed. */
  BadTorrent: 'BAD_TORRENT',
  /** The peer port could not be bound. */
  Listen: 'LISTEN',
  /** The operation was aborted through its `signal`. */
  Aborted: 'ABORTED',
  /** The swarm client failed (store write error, torrent error). */
  Swarm: 'SWARM',
  /** An option is out of range (e.g. `superSeedSlots: 0`). */
  BadOption: 'BAD_OPTION',
  /** The handle was already closed. */
  Closed: 'CLOSED',
} as const;
export type SeederErrorCode = (typeof SeederErrorCode)[keyof typeof SeederErrorCode];

/** The one error class of @boottorrent/seeder. */
export class SeederError extends Error {
  override name = 'SeederError';
  readonly code: SeederErrorCode;
  constructor(code: SeederErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export function abortError(signal: AbortSignal | undefined, what: string): SeederError {
  return new SeederError(SeederErrorCode.Aborted, `${what} aborted`, { cause: signal?.reason });
}
