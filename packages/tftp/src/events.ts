/** Typed events of {@link TftpServer}, for the dashboard and logs. */
import type { TftpError } from './errors.js';

/** A UDP peer. */
export interface TftpClient {
  address: string;
  port: number;
}

/** What was agreed for a transfer (RFC 2347 options as granted; defaults when not negotiated). */
export interface NegotiatedTransferOptions {
  blksize: number;
  windowsize: number;
  /** Retransmission timeout in use, ms (the client's RFC 2349 `timeout` if it sent one). */
  timeoutMs: number;
  /** tsize as answered, when the client asked. */
  tsize?: number;
}

/** `transfer-start`: a read request was accepted; the OACK or the first block is on its way. */
export interface TransferStartEvent {
  id: number;
  client: TftpClient;
  /** Path relative to the root, `/`-separated, as served. */
  file: string;
  mode: 'octet' | 'netascii';
  /** Bytes that will be sent (after netascii conversion). */
  size: number;
  /** Served by the `files` provider rather than from disk. */
  virtual: boolean;
  /** The datagram path of this transfer: the native wire or node:dgram (see the `wire` option). */
  wire: 'native' | 'dgram';
  options: NegotiatedTransferOptions;
}

/** `transfer-end`: the last block was acknowledged. */
export interface TransferEndEvent extends TransferStartEvent {
  /** Bytes acknowledged by the client. */
  bytes: number;
  durationMs: number;
  packets: number;
  retransmits: number;
}

/** `transfer-error`: the transfer was abandoned (timeout, peer ERROR, read failure, close()). */
export interface TransferErrorEvent extends TransferEndEvent {
  error: TftpError;
}

/** `refused`: a packet to the server port got an ERROR instead of a transfer. */
export interface RefusedEvent {
  client: TftpClient;
  /** The requested name, sanitized, when the packet was a request. */
  file?: string;
  /** TFTP error code sent (RFC 1350 appendix). */
  errorCode: number;
  reason: string;
}

/** Event map for `server.on(name, listener)`. */
export interface TftpServerEvents {
  'transfer-start': [TransferStartEvent];
  'transfer-end': [TransferEndEvent];
  'transfer-error': [TransferErrorEvent];
  refused: [RefusedEvent];
}

/** Counters since start. */
export interface TftpServerStats {
  /** Transfers running now. */
  active: number;
  started: number;
  completed: number;
  failed: number;
  /** Requests answered with ERROR (write, traversal, missing, busy, malformed). */
  refused: number;
  /** Packets to the server port dropped without an answer (ERROR/ACK/DATA there, duplicate requests). */
  dropped: number;
  /** Payload bytes acknowledged by clients, over all transfers. */
  bytesSent: number;
}
