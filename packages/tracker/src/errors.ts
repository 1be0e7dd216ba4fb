/**
 * Minimal logger every package declares for itself. Libraries never print: pass one to see refused
 * announces and malformed requests (logged at debug).
 */
export interface Logger {
  debug?(msg: string, data?: object): void;
  info?(msg: string, data?: object): void;
  warn?(msg: string, data?: object): void;
  error?(msg: string, data?: object): void;
}

/** Stable error codes of {@link TrackerError}; callers match on `code`, never on the message. */
export const TrackerErrorCode = {
  /** A socket could not be bound (port in use, address not on this machine). */
  Bind: 'TRACKER_BIND',
  /** Invalid options (host not an IP address, no transport enabled, bad info hash). */
  BadOption: 'TRACKER_BAD_OPTION',
  /** Aborted through `signal` before it was listening. */
  Aborted: 'TRACKER_ABORTED',
} as const;
export type TrackerErrorCode = (typeof TrackerErrorCode)[keyof typeof TrackerErrorCode];

/**
 * The one error class of @boottorrent/tracker; match on `code`. `message` says what failed and where;
 * `hint` says how to fix it ('' when there is nothing to suggest).
 */
export class TrackerError extends Error {
  override readonly name = 'TrackerError';
  readonly code: TrackerErrorCode;
  readonly hint: string;
  constructor(code: TrackerErrorCode, message: string, options?: { cause?: unknown; hint?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options?.hint ?? '';
  }
}
