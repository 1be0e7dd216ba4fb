export { loadProject, CONFIG_FILE, LEGACY_CONFIG_FILE } from './load.js';
export type { LoadResult } from './load.js';
export { initProject, DEFAULT_INIT_HOST_IP } from './init.js';
export type { InitOptions } from './init.js';
export { ConfigError, ConfigErrorCode, formatProblem } from './problem.js';
export type { Problem } from './problem.js';
export type { Project, OsEntry, OsMethod } from './project.js';
export { projectConfigSchema, osConfigSchema } from './schema.js';
export type { ProjectConfig, ProjectConfigInput, OsConfig } from './schema.js';
export { configJsonSchema, osJsonSchema } from './json-schema.js';
export { OS_CONFIG_FILE } from './oss.js';
export { isIpv4, ipv4ToInt, intToIpv4, prefixLength, sameSubnet, normalizeMac } from './ipv4.js';
export {
  clientManifestSchema,
  manifestOsSchema,
  clientStatusSchema,
  clientStatusAnswerSchema,
  CLIENT_PHASES,
} from './manifest.js';
export type {
  ClientManifest,
  ManifestOs,
  ClientStatus,
  ClientStatusAnswer,
  ClientPhase,
} from './manifest.js';
export { configReferenceMarkdown } from './reference.js';
export {
  findMachine,
  parseMacPattern,
  formatMacPattern,
  machineMacs,
  badCmdline,
  machineOverrideSchema,
  machinesStateSchema,
} from './machines.js';
export type { MacPattern, MachineOverrideInput, MachinesState } from './machines.js';
export { machineSchema, MAX_MACHINE_CMDLINE } from './schema.js';
export type { MachineConfig } from './schema.js';
export { API_TOKEN_FILE, ensureApiToken, readApiToken } from './token.js';
