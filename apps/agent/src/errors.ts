/** Stable error codes of {@link AgentError}; tests and status reports match on `code`, never on the message. */
export const AgentErrorCode = {
  /** The payload initrd is missing, or its manifest or a torrent in it is missing or invalid. */
  BadPayload: 'AGENT_BAD_PAYLOAD',
  /** The OS (plus what loading it takes) does not fit in this machine's available RAM. */
  NoRam: 'AGENT_NO_RAM',
  /** The download made no verified progress for `bt.stall` seconds. */
  Stalled: 'AGENT_STALLED',
  /** A manifest OS entry is unusable: a path outside its folder, or no section for its method. */
  BadOs: 'AGENT_BAD_OS',
  /** Loading the OS failed: kexec, the bin or qemu could not start or failed, or `kexec -e` returned. */
  LoadFailed: 'AGENT_LOAD_FAILED',
} as const;
export type AgentErrorCode = (typeof AgentErrorCode)[keyof typeof AgentErrorCode];

/**
 * The one error class of the agent: a problem the menu shows as one line (no stack trace). `message`
 * says what failed and where; `hint` says how to fix it ('' when there is nothing to suggest).
 */
export class AgentError extends Error {
  override readonly name = 'AgentError';
  readonly code: AgentErrorCode;
  readonly hint: string;
  constructor(code: AgentErrorCode, message: string, options?: { cause?: unknown; hint?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options?.hint ?? '';
  }
}

/**
 * The one line the menu and the status report show for a failed boot: the message, then the hint
 * after a dash when the error has one (any package's error: they all carry `hint`).
 */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const hint = (err as { hint?: unknown }).hint;
  return typeof hint === 'string' && hint ? `${err.message} — ${hint}` : err.message;
}
