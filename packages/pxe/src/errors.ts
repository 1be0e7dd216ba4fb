/** Stable error codes of {@link PxeError}; callers match on `code`, never on the message. */
export const PxeErrorCode = {
  /**
   * Bytes that are not a DHCP packet (only seen by direct codec callers; the server drops and
   * counts them). {@link PxeError.reason} holds the drop reason.
   */
  MalformedPacket: 'PXE_MALFORMED_PACKET',
  /** Options that do not fit even with option overload (RFC 2131 §4.1, RFC 2132 §9.3). */
  PacketTooLarge: 'PXE_PACKET_TOO_LARGE',
  /** A bad option value given to a factory or builder. */
  BadOption: 'PXE_BAD_OPTION',
  /** The server's network interface does not exist. */
  InterfaceNotFound: 'PXE_INTERFACE_NOT_FOUND',
  /** The interface exists but does not hold `serverAddress`. */
  AddressNotOnInterface: 'PXE_ADDRESS_NOT_ON_INTERFACE',
  /** A UDP port (67, 4011) could not be bound (in use, needs root). */
  Bind: 'PXE_BIND',
  /** The lease file could not be read, parsed or written. */
  LeaseFile: 'PXE_LEASE_FILE',
  /** `startDhcpServer` was given an already aborted `signal`. */
  Aborted: 'PXE_ABORTED',
} as const;
export type PxeErrorCode = (typeof PxeErrorCode)[keyof typeof PxeErrorCode];

/**
 * The one error class of @boottorrent/pxe; match on {@link PxeError.code}. `message` says what failed
 * and where; `hint` says how to fix it ('' when there is nothing to suggest).
 */
export class PxeError extends Error {
  override readonly name = 'PxeError';
  /** Stable machine-readable code. */
  readonly code: PxeErrorCode;
  /** How to fix it; '' when there is nothing to suggest. */
  readonly hint: string;
  /** For `PXE_MALFORMED_PACKET`: the short reason used as the drop counter key (e.g. `bad-cookie`). */
  readonly reason: string | undefined;

  constructor(
    code: PxeErrorCode,
    message: string,
    options?: { cause?: unknown; hint?: string; reason?: string },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options?.hint ?? '';
    this.reason = options?.reason;
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
    return new PxeError(PxeErrorCode.MalformedPacket, `malformed DHCP packet: ${this.detail}`, {
      reason: this.reason,
    });
  }
}

/** Shorthand for a malformed-packet signal with its drop reason. */
export function malformed(reason: string, detail: string): MalformedPacket {
  return new MalformedPacket(reason, detail);
}
