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
  Bind: 'ETFTP_BIND',
  /** Options passed to startTftpServer are invalid (root missing, out-of-range numbers). */
  Options: 'ETFTP_OPTIONS',
  /** A packet could not be decoded (truncated, unterminated string, unknown opcode). */
  Malformed: 'ETFTP_MALFORMED',
  /** A request was refused (write, traversal, missing file, busy, bad option). */
  Refused: 'ETFTP_REFUSED',
  /** The peer stopped answering; retransmissions were exhausted. */
  Timeout: 'ETFTP_TIMEOUT',
  /** The peer sent an ERROR packet or went away (ICMP port unreachable). */
  PeerError: 'ETFTP_PEER',
  /** Reading the file or the virtual stream failed, or it ended before its announced size. */
  Source: 'ETFTP_SOURCE',
  /** The server was closed while the transfer ran. */
  Closed: 'ETFTP_CLOSED',
} as const;
export type TftpErrorCode = (typeof TftpErrorCode)[keyof typeof TftpErrorCode];

/** The one error class of @boottorrent/tftp. */
export class TftpError extends Error {
  override readonly name = 'TftpError';
  readonly code: TftpErrorCode;
  constructor(code: TftpErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
