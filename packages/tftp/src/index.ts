/**
 * @boottorrent/tftp — a fast, read-only, root-jailed TFTP server: RFC 1350 with RFC 2347 option
 * negotiation, RFC 2348 blksize, RFC 2349 timeout/tsize and RFC 7440 windowsize, plus virtual files.
 */
export { startTftpServer, TftpServer } from './server.js';
export type { TftpServerOptions, VirtualFileProvider, VirtualFile } from './server-options.js';
export type {
  TftpServerEvents,
  TftpServerStats,
  TftpClient,
  TransferStartEvent,
  TransferEndEvent,
  TransferErrorEvent,
  RefusedEvent,
  NegotiatedTransferOptions,
} from './events.js';
export { TftpError, TftpErrorCode } from './errors.js';
export type { Logger } from './errors.js';
export { decodePacket, encodeAck, encodeData, encodeError, encodeOack, encodeRequest } from './packet.js';
export type { TftpPacket, RequestPacket, DataPacket, AckPacket, ErrorPacket, OackPacket } from './packet.js';
export {
  Opcode,
  OpcodeName,
  ErrorCode,
  ErrorCodeName,
  DEFAULT_BLOCK_SIZE,
  DEFAULT_HOST,
  DEFAULT_MAX_BLOCK_SIZE,
  DEFAULT_MAX_PATH_LENGTH,
  DEFAULT_MAX_TRANSFERS,
  DEFAULT_MAX_WINDOW_SIZE,
  DEFAULT_PORT,
  DEFAULT_RETRIES,
  DEFAULT_TIMEOUT_MS,
  DEFAULT_WINDOW_BUFFER_BYTES,
  MAX_BLOCK_SIZE,
  MIN_BLOCK_SIZE,
} from './constants.js';
