/**
 * Protocol numbers and defaults. Names follow the RFCs: RFC 1350 (TFTP rev. 2), RFC 2347 (option
 * extension), RFC 2348 (blksize), RFC 2349 (timeout, tsize), RFC 7440 (windowsize).
 */

/** Packet opcodes, RFC 1350 §5 plus OACK from RFC 2347. */
export const Opcode = {
  /** Read request. */
  RRQ: 1,
  /** Write request (always refused: this server is read-only). */
  WRQ: 2,
  DATA: 3,
  ACK: 4,
  ERROR: 5,
  /** Option acknowledgement, RFC 2347. */
  OACK: 6,
} as const;
export type Opcode = (typeof Opcode)[keyof typeof Opcode];

/** Reverse lookup of {@link Opcode} for logs. */
export const OpcodeName: Record<number, string> = Object.fromEntries(
  Object.entries(Opcode).map(([k, v]) => [v, k]),
);

/** ERROR packet codes, RFC 1350 appendix, plus 8 from RFC 2347. */
export const ErrorCode = {
  NotDefined: 0,
  FileNotFound: 1,
  AccessViolation: 2,
  DiskFull: 3,
  IllegalOperation: 4,
  UnknownTransferId: 5,
  FileAlreadyExists: 6,
  NoSuchUser: 7,
  /** The client asked for options it cannot do without and the server declined them, RFC 2347. */
  OptionNegotiation: 8,
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Reverse lookup of {@link ErrorCode} for logs. */
export const ErrorCodeName: Record<number, string> = Object.fromEntries(
  Object.entries(ErrorCode).map(([k, v]) => [v, k]),
);

/** Block size without options, RFC 1350 §2. */
export const DEFAULT_BLOCK_SIZE = 512;
/** Smallest blksize a client may ask for, RFC 2348. */
export const MIN_BLOCK_SIZE = 8;
/** Largest blksize of RFC 2348 (a 65535-byte IPv4 datagram less headers). */
export const MAX_BLOCK_SIZE = 65464;
/** Largest windowsize of RFC 7440. */
export const MAX_WINDOW_SIZE = 65535;
/** RFC 2349 timeout bounds, seconds. */
export const MIN_TIMEOUT_SECONDS = 1;
export const MAX_TIMEOUT_SECONDS = 255;

/** The well-known TFTP port, RFC 1350 §4. @default 69 */
export const DEFAULT_PORT = 69;
/** Address the server binds to. @default '0.0.0.0' */
export const DEFAULT_HOST = '0.0.0.0';
/** Largest block size the server grants (before the path-MTU clamp). @default 65464 */
export const DEFAULT_MAX_BLOCK_SIZE = MAX_BLOCK_SIZE;
/**
 * Largest windowsize the server grants. 64 blocks keep a 64 KiB-block window at 4 MiB of memory per
 * transfer; RFC 7440 measured no gain past 32–64. @default 64
 */
export const DEFAULT_MAX_WINDOW_SIZE = 64;
/**
 * Receive buffer a window may fill at the client, counted as the kernel counts it (see
 * {@link datagramCost}): Linux's default `net.core.rmem_default`, which atftp, busybox and most clients
 * keep. A window larger than the receiver's buffer loses its tail every time, and RFC 7440 gives the
 * sender no way to send less than the negotiated window (the receiver acknowledges after `windowsize`
 * blocks or on its own timeout), so the window must fit when it is granted. @default 212992
 */
export const DEFAULT_WINDOW_BUFFER_BYTES = 212_992;
/** Concurrent transfers; the next request gets ERROR 0 "server busy" (dnsmasq's default). @default 50 */
export const DEFAULT_MAX_TRANSFERS = 50;
/** First retransmission timeout; doubles on each retry up to {@link MAX_BACKOFF_MS}. @default 1000 */
export const DEFAULT_TIMEOUT_MS = 1000;
/** Retransmissions of one window before the transfer is abandoned with ERROR 0. @default 5 */
export const DEFAULT_RETRIES = 5;
/**
 * Floor of the adaptive retransmission timeout (RFC 1123 4.2.3.2), used when the client did not
 * negotiate `timeout`: after a few round trips the sender retransmits after max(this, SRTT + 4 RTTVAR)
 * rather than after {@link DEFAULT_TIMEOUT_MS}, so a window whose tail was lost costs milliseconds, not
 * a second. An early timeout costs one datagram (a tail probe), never a window.
 */
export const MIN_RTO_MS = 20;
/** Ceiling of the exponential backoff (or the timeout itself when that is larger). */
export const MAX_BACKOFF_MS = 8000;
/** Longest file name accepted in a request, bytes. tftpd-hpa and PXE ROMs stay far below. @default 255 */
export const DEFAULT_MAX_PATH_LENGTH = 255;
/** Bytes read from disk in one go (rounded to whole blocks, at least one window). */
export const READ_CHUNK_BYTES = 512 * 1024;
/**
 * Most bytes of a file a transfer reads ahead of the chunk it sends from (at least one chunk). It
 * starts at one chunk and grows only while the sender has to wait for the reader (a fast windowed
 * client), so a lock-step transfer holds two chunks and a fast one at most this much more.
 */
export const READ_AHEAD_BYTES = 2 * 1024 * 1024;
/**
 * Idle chunk buffers a server keeps for its next transfers ({@link ChunkPool}), bytes: about three
 * transfers' worth at blksize 65464 and windowsize 16 (1 MiB chunks), ten at 1468.
 */
export const CHUNK_POOL_BYTES = 16 * 1024 * 1024;
/** Smallest buffer a {@link ChunkPool} keeps: glibc's default mmap threshold (M_MMAP_THRESHOLD). */
export const POOLED_MIN_BYTES = 128 * 1024;
