/** Options of {@link startTftpServer} and their validation. */
import { statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import {
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
  MAX_WINDOW_SIZE,
  MIN_BLOCK_SIZE,
} from './constants.js';
import { TftpError, TftpErrorCode, type Logger } from './errors.js';

/** A generated file: its exact size (answered as tsize) and a factory for its bytes. */
export interface VirtualFile {
  size: number;
  /** Called once per transfer (twice in netascii mode: once to measure). Must yield `size` bytes. */
  stream: () => Readable;
}

/**
 * Serves generated content (boot scripts, per-MAC files) without touching disk. Called with the
 * request's normalized path (relative, `/`-separated, already jail-checked) and the client; return
 * null to fall through to the root directory.
 */
export type VirtualFileProvider = (
  path: string,
  client: { address: string; port: number },
) => VirtualFile | Promise<VirtualFile | null> | null;

export interface TftpServerOptions {
  /** Directory served read-only; nothing outside it is ever read. */
  root: string;
  /** Address to bind. Bind the interface address in production: replies leave from the address the
   * kernel routes through, which a client may not accept on a multi-homed host. @default '0.0.0.0' */
  host?: string;
  /** UDP port; 0 picks an ephemeral one (tests). @default 69 */
  port?: number;
  /** Largest blksize granted (RFC 2348, 8–65464). @default 65464 */
  maxBlockSize?: number;
  /** Also clamp blksize to the MTU of the interface towards the client, so no block is fragmented.
   * @default true */
  clampBlockSizeToMtu?: boolean;
  /** Largest windowsize granted (RFC 7440, 1–65535). @default 64 */
  maxWindowSize?: number;
  /** Client receive buffer one window may fill, counting each datagram at its kernel cost (a 8192-byte
   * block costs 16640 bytes): the window granted is at most this ÷ that, and at least one block.
   * Raise it for clients known to enlarge `SO_RCVBUF`. @default 212992 (Linux's rmem_default) */
  windowBufferBytes?: number;
  /** Concurrent transfers; one more request gets ERROR 0 "server busy". @default 50 */
  maxTransfers?: number;
  /** First retransmission timeout, ms; doubles per retry (a client's RFC 2349 timeout wins). @default 1000 */
  timeoutMs?: number;
  /** Retransmissions of one window before giving up with ERROR 0. @default 5 */
  retries?: number;
  /** Longest request file name, bytes. @default 255 */
  maxPathLength?: number;
  /**
   * Datagram path of the transfer sockets. `'native'`: the addon in native/ (built at install when a C
   * compiler is there), which costs less CPU per datagram than node:dgram; startup fails with
   * `TFTP_BAD_OPTION` when it is not built. `'dgram'`: node:dgram. `'auto'`: native when it loads, else
   * dgram. The request socket is always node:dgram. @default 'auto'
   */
  wire?: 'auto' | 'native' | 'dgram';
  /** Virtual files, consulted before the root. */
  files?: VirtualFileProvider;
  /** Log sink (silent by default). */
  logger?: Logger;
  /** Aborting closes the server like close(). */
  signal?: AbortSignal;
}

export type ResolvedOptions = Required<Omit<TftpServerOptions, 'files' | 'logger' | 'signal'>> &
  Pick<TftpServerOptions, 'files' | 'logger' | 'signal'>;

function intIn(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new TftpError(TftpErrorCode.BadOption, `tftp ${name}: ${value} is not an integer in ${min}–${max}`);
  }
  return value;
}

function wireIn(value: string): 'auto' | 'native' | 'dgram' {
  if (value === 'auto' || value === 'native' || value === 'dgram') return value;
  throw new TftpError(
    TftpErrorCode.BadOption,
    `tftp wire: ${JSON.stringify(value)} is not one of 'auto', 'native', 'dgram'`,
  );
}

/** Applies defaults and checks ranges; never mutates `opts`. */
export function resolveOptions(opts: TftpServerOptions): ResolvedOptions {
  let isDir = false;
  try {
    isDir = statSync(opts.root).isDirectory();
  } catch {
    // reported below
  }
  if (!isDir) {
    throw new TftpError(TftpErrorCode.BadOption, `tftp root: ${opts.root} is not a directory`, {
      hint: 'create it or fix the path',
    });
  }
  return {
    root: opts.root,
    host: opts.host ?? DEFAULT_HOST,
    port: intIn('port', opts.port ?? DEFAULT_PORT, 0, 65535),
    maxBlockSize: intIn(
      'maxBlockSize',
      opts.maxBlockSize ?? DEFAULT_MAX_BLOCK_SIZE,
      MIN_BLOCK_SIZE,
      MAX_BLOCK_SIZE,
    ),
    clampBlockSizeToMtu: opts.clampBlockSizeToMtu ?? true,
    maxWindowSize: intIn('maxWindowSize', opts.maxWindowSize ?? DEFAULT_MAX_WINDOW_SIZE, 1, MAX_WINDOW_SIZE),
    windowBufferBytes: intIn(
      'windowBufferBytes',
      opts.windowBufferBytes ?? DEFAULT_WINDOW_BUFFER_BYTES,
      1,
      2 ** 30,
    ),
    maxTransfers: intIn('maxTransfers', opts.maxTransfers ?? DEFAULT_MAX_TRANSFERS, 1, 100_000),
    timeoutMs: intIn('timeoutMs', opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, 1, 255_000),
    retries: intIn('retries', opts.retries ?? DEFAULT_RETRIES, 0, 100),
    maxPathLength: intIn('maxPathLength', opts.maxPathLength ?? DEFAULT_MAX_PATH_LENGTH, 1, 4096),
    wire: wireIn(opts.wire ?? 'auto'),
    files: opts.files,
    logger: opts.logger,
    signal: opts.signal,
  };
}
