/**
 * @boottorrent/server — the BootTorrent boot server as a library: builds out/ from a project
 * (torrents, payload initrd, phase-1, boot loaders) and runs DHCP, TFTP, HTTP (boot scripts,
 * phase-1 with Range, web seed, status API), tracker and seeder, with typed events.
 */
export { startBootServer, phase1Cmdline } from './server.js';
export type { BootServer, BootServerOptions } from './server.js';
export { buildOut, serverUrls } from './build.js';
export type { BuildOptions, BuildEvent, BuiltOut, TorrentInfo } from './build.js';
export type { ServerEvent, ServerEventMap, ServiceName } from './events.js';
export { ClientTable, totals } from './clients.js';
export type { ClientInfo } from './clients.js';
export { startHttpServer, readBody, MAX_STATUS_BODY } from './http.js';
export type { HttpServer, HttpServerOptions, HttpRequestEvent, HttpRoute, RouteContext } from './http.js';
export { parseRange } from './range.js';
export type { ByteRange } from './range.js';
export { checkPrivileges, checkInterface } from './preflight.js';
export { agentBundlePath, cacheHome, hostSearchRoots } from './paths.js';
export { wireDhcp, wireHttp, wireSeeder, wireTftp, wireTracker } from './services.js';
export type { WireContext } from './services.js';
export { ServerError, ServerErrorCode } from './errors.js';
export type { Logger } from './errors.js';
export { MachinePlans, MACHINES_STATE_FILE } from './machines.js';
export type { MachinePlan, MachineOverride } from './machines.js';
export { machineRoutes, wireMachines, checkToken, MAX_MACHINE_BODY } from './machines-api.js';
export type { MachineRoutesOptions } from './machines-api.js';
