/**
 * @boottorrent/pxe — DHCP server and proxyDHCP for PXE (BIOS, UEFI, iPXE), boot file selection by
 * firmware, and the iPXE / pxelinux boot script builders.
 */
export { startDhcpServer } from './server.js';
export type { DhcpServer } from './server.js';
export type { DhcpServerOptions, DhcpSubnet } from './server-options.js';
export type {
  DhcpServerEvents,
  DhcpStats,
  LeaseEvent,
  BootEvent,
  DropEvent,
  IgnoreEvent,
  Logger,
} from './events.js';
export type { Lease } from './lease-store.js';
export type { Machine, BootPlan, BootRefusal, PlanFor, PlanResult } from './machine.js';
export { staticPlan, DEFAULT_LOADERS, LEGACY_BIOS_LOADER } from './plan.js';
export type { StaticPlanOptions, LoaderKind } from './plan.js';
export { HOST_LOADERS, requiredLoaders, findLoader } from './loaders.js';
export type { LoaderSource } from './loaders.js';
export { ipxeScript, pxelinuxConfig, IPXE_BUSID } from './scripts.js';
export type { BootScriptOptions, PxelinuxConfigOptions } from './scripts.js';
export { PxeError, PxeErrorCode } from './errors.js';
export { decodePacket, encodePacket, BROADCAST_FLAG } from './packet.js';
export type { DhcpPacket, EncodeOptions } from './packet.js';
export {
  BootpOp,
  ClientArch,
  ClientArchName,
  DhcpMessageType,
  DhcpMessageTypeName,
  DhcpOption,
  DhcpOptionName,
  DEFAULT_CLIENT_PORT,
  DEFAULT_DECLINE_QUARANTINE_MS,
  DEFAULT_LEASE_TIME,
  DEFAULT_OFFER_HOLD_MS,
  DEFAULT_PROXY_PORT,
  DEFAULT_SERVER_PORT,
} from './constants.js';
