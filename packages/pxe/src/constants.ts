/**
 * Protocol numbers for BOOTP/DHCP and PXE, named as the RFCs name them.
 *
 * Each object has a reverse lookup (`DhcpOptionName[67] === 'BootFileName'`) for logs.
 */

/** BOOTP `op` field (RFC 951 §3, RFC 2131 §2). */
export const BootpOp = {
  BootRequest: 1,
  BootReply: 2,
} as const;

/** DHCP message types, option 53 (RFC 2132 §9.6). */
export const DhcpMessageType = {
  Discover: 1,
  Offer: 2,
  Request: 3,
  Decline: 4,
  Ack: 5,
  Nak: 6,
  Release: 7,
  Inform: 8,
} as const;
export type DhcpMessageType = (typeof DhcpMessageType)[keyof typeof DhcpMessageType];

/**
 * DHCP option codes used by this package (RFC 2132; 77 from RFC 3004; 93, 94, 97 from RFC 4578;
 * 175 is iPXE's encapsulated option space, see ipxe.org/cfg). Every other option is still decoded
 * and kept as bytes.
 */
export const DhcpOption = {
  Pad: 0,
  SubnetMask: 1,
  Router: 3,
  DomainNameServer: 6,
  HostName: 12,
  BroadcastAddress: 28,
  VendorSpecificInformation: 43,
  RequestedIpAddress: 50,
  IpAddressLeaseTime: 51,
  OptionOverload: 52,
  DhcpMessageType: 53,
  ServerIdentifier: 54,
  ParameterRequestList: 55,
  Message: 56,
  MaximumDhcpMessageSize: 57,
  RenewalTime: 58,
  RebindingTime: 59,
  VendorClassIdentifier: 60,
  ClientIdentifier: 61,
  TftpServerName: 66,
  BootFileName: 67,
  UserClass: 77,
  /** Relay Agent Information (RFC 3046): added by a relay, echoed by the server, removed by the relay. */
  RelayAgentInformation: 82,
  ClientSystemArchitecture: 93,
  ClientNetworkInterfaceIdentifier: 94,
  ClientMachineIdentifier: 97,
  IpxeEncapsulated: 175,
  End: 255,
} as const;

/**
 * Client system architecture types, option 93 (RFC 4578 §2.1, IANA "Processor Architecture Types").
 * 0 is a BIOS PXE ROM; 6/7/9/11 are UEFI PXE; 15/16/19 are UEFI HTTP boot.
 */
export const ClientArch = {
  IntelX86Pc: 0,
  EfiIa32: 6,
  EfiX8664: 7,
  EfiBc: 9,
  EfiArm32: 10,
  EfiArm64: 11,
  EfiIa32Http: 15,
  EfiX8664Http: 16,
  EfiArm64Http: 19,
} as const;

/** Sub-options of option 43 in the PXE vendor space (PXE 2.1 spec §2.4). */
export const PxeVendorOption = {
  /** PXE_DISCOVERY_CONTROL: bit 3 (value 8) = boot the file named in this packet, skip discovery. */
  DiscoveryControl: 6,
} as const;

/** Sub-options of iPXE's option 175 (ipxe.org/cfg/pxedhcp). */
export const IpxeOption = {
  /** 1 = do not wait for a ProxyDHCP offer (saves ~3 s per iPXE boot). */
  NoPxeDhcp: 176,
} as const;

function reverse<T extends Record<string, number>>(o: T): Readonly<Record<number, string>> {
  return Object.freeze(Object.fromEntries(Object.entries(o).map(([k, v]) => [v, k])));
}

/** Reverse lookup of {@link DhcpOption} for logs. */
export const DhcpOptionName = reverse(DhcpOption);
/** Reverse lookup of {@link DhcpMessageType} for logs. */
export const DhcpMessageTypeName = reverse(DhcpMessageType);
/** Reverse lookup of {@link ClientArch} for logs. */
export const ClientArchName = reverse(ClientArch);

/** The DHCP magic cookie 99.130.83.99 (RFC 2131 §3). */
export const MAGIC_COOKIE = 0x63825363;
/** Size of the fixed BOOTP header before the magic cookie (RFC 2131 §2, figure 1). */
export const BOOTP_HEADER_SIZE = 236;
/** Replies are padded to the BOOTP minimum of 300 bytes for old relay agents (RFC 1542 §2.1). */
export const BOOTP_MIN_SIZE = 300;
/** Minimum maximum-message-size every client must accept (RFC 2131 §2). @default 576 */
export const DEFAULT_MAX_MESSAGE_SIZE = 576;
/** Packets larger than an Ethernet frame's UDP payload are dropped as oversized. */
export const MAX_PACKET_SIZE = 1472;
/** BOOTP server port (RFC 2131 §4.1). @default 67 */
export const DEFAULT_SERVER_PORT = 67;
/** BOOTP client port (RFC 2131 §4.1). @default 68 */
export const DEFAULT_CLIENT_PORT = 68;
/** PXE boot server / proxyDHCP port (PXE 2.1 spec §2.2.4). @default 4011 */
export const DEFAULT_PROXY_PORT = 4011;
/** Lease time given when the caller sets none, in seconds. @default 3600 */
export const DEFAULT_LEASE_TIME = 3600;
/** How long an offered address stays reserved for the client that was offered it, in ms. @default 60000 */
export const DEFAULT_OFFER_HOLD_MS = 60_000;
/** How long a DECLINEd address is kept out of the pool, in ms (RFC 2131 §3.1 step 5). @default 600000 */
export const DEFAULT_DECLINE_QUARANTINE_MS = 600_000;
