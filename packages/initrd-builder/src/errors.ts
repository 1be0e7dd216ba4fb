/**
 * Stable error codes of this package; callers match on `code`, never on the message.
 */
export const InitrdErrorCode = {
  /** A cpio entry is malformed (bad path, missing size or source, name too long). */
  BadEntry: 'E_BAD_ENTRY',
  /** A cpio archive being read is truncated or has a bad magic. */
  BadArchive: 'E_BAD_ARCHIVE',
  /** A kernel, modules directory, busybox, node, kexec or qemu could not be found on the host. */
  HostPartsMissing: 'E_HOST_PARTS_MISSING',
  /** A NIC module or one of its dependencies is not in the modules directory. */
  ModuleMissing: 'E_MODULE_MISSING',
  /** An ELF file's shared library could not be resolved on the host. */
  LibraryMissing: 'E_LIBRARY_MISSING',
  /** A host tool (depmod, xz) failed. */
  ToolFailed: 'E_TOOL_FAILED',
  /** The build was aborted through its AbortSignal. */
  Aborted: 'E_ABORTED',
} as const;
export type InitrdErrorCode = (typeof InitrdErrorCode)[keyof typeof InitrdErrorCode];

/** The one error class of @boottorrent/initrd-builder. The message says what, where and how to fix. */
export class InitrdError extends Error {
  override readonly name = 'InitrdError';
  readonly code: InitrdErrorCode;
  constructor(code: InitrdErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
