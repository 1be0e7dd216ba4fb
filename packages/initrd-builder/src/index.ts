export { writeCpio, normalizeCpioPath, CpioMode, DEFAULT_CPIO_MTIME } from './cpio.js';
export type { CpioEntry, CpioWriteOptions } from './cpio.js';
export { readCpio, readInitrd } from './cpio-read.js';
export type { CpioRecord } from './cpio-read.js';
export { compress, DEFAULT_LEVEL } from './compress.js';
export type { Compression, CompressOptions } from './compress.js';
export { findHostParts, defaultSearchRoots } from './host-parts.js';
export type { HostParts, FindHostPartsOptions } from './host-parts.js';
export { buildPhase1, DEFAULT_PHASE1_COMPRESSION, QEMU_DATA_DIRS } from './phase1.js';
export type { BuildPhase1Options, Phase1Progress, Phase1Result, Phase1Runtime } from './phase1.js';
export {
  RUNTIME_SCRIPT,
  RUNTIME_PATHS,
  DEFAULT_RUNTIME_PORT,
  DEFAULT_RUNTIME_STALL,
} from './runtime-script.js';
export { buildPayload, PAYLOAD_PATHS } from './payload.js';
export type { BuildPayloadOptions } from './payload.js';
export {
  initScript,
  UDHCPC_SCRIPT,
  PHASE1_PATHS,
  PHASE1_TCP_NOTSENT_LOWAT,
  PHASE1_TCP_CONGESTION,
} from './init-script.js';
export type { InitScriptOptions } from './init-script.js';
export { DEFAULT_NIC_MODULES, MODULE_SOFT_DEPS } from './modules.js';
export {
  IpxeBusType,
  parseBusId,
  parseModulesAlias,
  matchPciModules,
  virtioDeviceType,
  VIRTIO_PCI_VENDOR,
} from './nic-match.js';
export type { BusId, ModuleAlias } from './nic-match.js';
export { openNicModules, NIC_INDEX_FILES } from './nic-archive.js';
export type { NicModules, NicArchive, NicModulesOptions, FullSetReason } from './nic-archive.js';
export { resolveLibraries, stripElf } from './elf.js';
export { InitrdError, InitrdErrorCode } from './errors.js';
