/** Optional sink for log lines; the library never prints. Every method is optional. */
export interface Logger {
  debug?(msg: string, fields?: Record<string, unknown>): void;
  info?(msg: string, fields?: Record<string, unknown>): void;
  warn?(msg: string, fields?: Record<string, unknown>): void;
  error?(msg: string, fields?: Record<string, unknown>): void;
}

/** Stable codes of {@link TftpError}; callers match on `code`, never on the message. */
export const TftpErrorCode = {
  /** The server could not bind its socket (address in use, no such address, privileged port). */
  Bind: 'TFTP_BIND',
  /** Options passed to startTftpServer are invalid (root missing, out-of-range numbers, native wire not built). */
  BadOption: 'TFTP_BAD_OPTION',
  /** startTftpServer was given an already aborted `signal`. */
  Aborted: 'TFTP_ABORTED',
  /** A packet could not be decoded (truncated, unterminated string, unknown opcode). */
  Malformed: 'TFTP_MALFORMED',
  /** A request was refused (write, traversal, missing file, busy, bad option). */
  Refused: 'TFTP_REFUSED',
  /** The peer stopped answering; retransmissions were exhausted. */
  Timeout: 'TFTP_TIMEOUT',
  /** The peer sent an ERROR packet or went away (ICMP port unreachable). */
  PeerError: 'TFTP_PEER',
  /** Reading the file or the virtual stream failed, or it ended before its announced size. */
  Source: 'TFTP_SOURCE',
  /** The server was closed while the transfer ran. */
  Closed: 'TFTP_CLOSED',
} as const;
export type TftpErrorCode = (typeof TftpErrorCode)[keyof typeof TftpErrorCode];

/**
 * The one error class of @boottorrent/tftp. `message` says what failed and where; `hint` says how to
 * fix it ('' when there is nothing to suggest).
 */
export class TftpError extends Error {
  override readonly name = 'TftpError';
  readonly code: TftpErrorCode;
  readonly hint: string;
  constructor(code: TftpErrorCode, message: string, options?: { cause?: unknown; hint?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options?.hint ?? '';
  }
}
