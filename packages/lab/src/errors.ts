/** Optional sink for log lines; the library never prints. Every method is optional. */
export interface Logger {
  debug?(msg: string, fields?: Record<string, unknown>): void;
  info?(msg: string, fields?: Record<string, unknown>): void;
  warn?(msg: string, fields?: Record<string, unknown>): void;
  error?(msg: string, fields?: Record<string, unknown>): void;
}

/** Stable codes of {@link LabError}; callers match on `code`, never on the message. */
export const LabErrorCode = {
  /** An option is invalid (bad address, MAC or interface name; UEFI without a place for its vars). */
  BadOption: 'LAB_BAD_OPTION',
  /** The `signal` was aborted before or while the namespace or VM was being set up. */
  Aborted: 'LAB_ABORTED',
  /** A command (`ip`, `tc`, …) exited non-zero or could not be started. */
  Command: 'LAB_COMMAND',
  /** A tool or firmware file the lab drives is not installed (qemu-system-x86_64, ip, OVMF). */
  MissingTool: 'LAB_MISSING_TOOL',
  /** `waitFor` saw no match on the console in time. */
  Timeout: 'LAB_TIMEOUT',
  /** The VM (QEMU) ended before `waitFor` saw a match. */
  Exited: 'LAB_EXITED',
  /** The QEMU monitor did not answer, or the VM was started without one (`screen`). */
  Monitor: 'LAB_MONITOR',
} as const;
export type LabErrorCode = (typeof LabErrorCode)[keyof typeof LabErrorCode];

/**
 * The one error class of @boottorrent/lab. `message` says what failed and where; `hint` says how to
 * fix it ('' when there is nothing to suggest).
 */
export class LabError extends Error {
  override readonly name = 'LabError';
  readonly code: LabErrorCode;
  readonly hint: string;
  constructor(code: LabErrorCode, message: string, options?: { cause?: unknown; hint?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options?.hint ?? '';
  }
}

/** A LabError for an aborted signal, naming what was interrupted. */
export function abortedError(what: string, signal: AbortSignal): LabError {
  return new LabError(LabErrorCode.Aborted, `${what} was aborted`, { cause: signal.reason });
}
