/**
 * Stable error codes of this package. Callers match on `code`, never on the message.
 *
 * - `MALFORMED_PACKET`: bytes that are not a DHCP packet (only seen by direct codec callers; the
 *   server drops and counts them).
 * - `PACKET_TOO_LARGE`: options that do not fit even with option overload.
 * - `INVALID_OPTIONS`: a bad option value given to a factory or builder.
 * - `INTERFACE_NOT_FOUND`, `ADDRESS_NOT_ON_INTERFACE`, `BIND_FAILED`: setup failures of the server.
 * - `LEASE_FILE`: the lease file could not be read or written.
 */
export type PxeErrorCode =
  | 'MALFORMED_PACKET'
  | 'PACKET_TOO_LARGE'
  | 'INVALID_OPTIONS'
  | 'INTERFACE_NOT_FOUND'
  | 'ADDRESS_NOT_ON_INTERFACE'
  | 'BIND_FAILED'
  | 'LEASE_FILE';

/** The one error class of @boottorrent/pxe; match on {@link PxeError.code}. */
export class PxeError extends Error {
  /** Stable machine-readable code. */
  readonly code: PxeErrorCode;
  /** For `MALFORMED_PACKET`: the short reason used as the drop counter key (e.g. `bad-cookie`). */
  readonly reason: string | undefined;

  constructor(code: PxeErrorCode, message: string, opts: { cause?: unknown; reason?: string } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'PxeError';
    this.code = code;
    this.reason = opts.reason;
  }
}

/**
 * Internal: what the codec throws for a peer's bad bytes. Deliberately not an Error: capturing a
 * stack trace per bad packet made a packet flood several times slower. The public
 * `decodePacket` turns it into a {@link PxeError}; the server counts it by `reason`.
 */
export class MalformedPacket {
  constructor(
    readonly reason: string,
    readonly detail: string,
  ) {}

  toError(): PxeError {
    return new PxeError('MALFORMED_PACKET', `malformed DHCP packet: ${this.detail}`, { reason: this.reason });
  }
}

/** Shorthand for a malformed-packet signal with its drop reason. */
export function malformed(reason: string, detail: string): MalformedPacket {
  return new MalformedPacket(reason, detail);
}
