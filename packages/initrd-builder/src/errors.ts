/**
 * Stable error codes of {@link InitrdError}; callers match on `code`, never on the message.
 */
export const InitrdErrorCode = {
  /** A cpio entry is malformed (bad path, missing size or source, name too long). */
  BadEntry: 'INITRD_BAD_ENTRY',
  /** A cpio archive being read is truncated or has a bad magic. */
  BadArchive: 'INITRD_BAD_ARCHIVE',
  /** A kernel, modules directory, busybox, node, kexec or qemu could not be found on the host. */
  HostPartsMissing: 'INITRD_HOST_PARTS_MISSING',
  /** A NIC module or one of its dependencies is not in the modules directory. */
  ModuleMissing: 'INITRD_MODULE_MISSING',
  /** An ELF file's shared library could not be resolved on the host. */
  LibraryMissing: 'INITRD_LIBRARY_MISSING',
  /** A host tool (depmod, xz) failed. */
  ToolFailed: 'INITRD_TOOL_FAILED',
  /** The build was aborted through its AbortSignal. */
  Aborted: 'INITRD_ABORTED',
} as const;
export type InitrdErrorCode = (typeof InitrdErrorCode)[keyof typeof InitrdErrorCode];

/**
 * The one error class of @boottorrent/initrd-builder. `message` says what failed and where; `hint`
 * says how to fix it ('' when there is nothing to suggest).
 */
export class InitrdError extends Error {
  override readonly name = 'InitrdError';
  readonly code: InitrdErrorCode;
  readonly hint: string;
  constructor(code: InitrdErrorCode, message: string, options?: { cause?: unknown; hint?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options?.hint ?? '';
  }
}
