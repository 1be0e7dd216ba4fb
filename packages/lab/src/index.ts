export { LabError, LabErrorCode } from './errors.js';
export type { Logger } from './errors.js';
export { findTool, runCommand, stopProcess } from './exec.js';
export type { RunOptions } from './exec.js';
export { randomMac } from './names.js';
export { createNetns, DEFAULT_BRIDGE, DEFAULT_HOST_IFACE, DEFAULT_NETNS_PREFIX } from './netns.js';
export type { BridgeOptions, HostOptions, Netns, NetnsHost, NetnsOptions } from './netns.js';
export {
  DEFAULT_MEMORY_MB,
  DEFAULT_NIC_MODEL,
  DEFAULT_STOP_GRACE_MS,
  OVMF_CODE,
  OVMF_VARS,
  startVm,
} from './vm.js';
export type { NicOptions, Vm, VmOptions } from './vm.js';
export { aptInstall, ensureRequirements, labRequirements, missingRequirements, unpackDeb } from './debian.js';
export type { Requirement } from './debian.js';
export { startDnsmasq } from './dnsmasq.js';
export type { DnsmasqOptions } from './dnsmasq.js';
export { createRoom, DEFAULT_ROOM_PREFIX, MAX_ROOM_VMS } from './room.js';
export type { Room, RoomOptions } from './room.js';
export { BootWatch } from './boot-watch.js';
export type { BootEvent, BootWatchOptions } from './boot-watch.js';
export { MILESTONES, PHASE_MILESTONE, summarize } from './timeline.js';
export type { LabSummary, Milestone, VmTimeline } from './timeline.js';
