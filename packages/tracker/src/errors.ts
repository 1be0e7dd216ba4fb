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

/** Stable error codes of {@link TrackerError}. */
export const TrackerErrorCode = {
  /** A socket could not be bound (port in use, address not on this machine). */
  Listen: 'LISTEN',
  /** Invalid options (no transport enabled, bad info hash). */
  Options: 'OPTIONS',
  /** Aborted through `signal` before it was listening. */
  Aborted: 'ABORTED',
} as const;
export type TrackerErrorCode = (typeof TrackerErrorCode)[keyof typeof TrackerErrorCode];

/** The one error class of @boottorrent/tracker; match on `code`. */
export class TrackerError extends Error {
  override name = 'TrackerError';
  readonly code: TrackerErrorCode;
  constructor(code: TrackerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
