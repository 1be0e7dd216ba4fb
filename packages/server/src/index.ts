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
export {
  eventSeverity,
  formatBytes,
  formatEvent,
  isJournalStream,
  LOG_LEVELS,
  SYSLOG_PRIORITY,
} from './format.js';
export type { LogLevel } from './format.js';
export { ClientTable, totals } from './clients.js';
export type { ClientInfo } from './clients.js';
export { startHttpServer, readBody, MAX_STATUS_BODY } from './http.js';
export type { HttpServer, HttpServerOptions, HttpRequestEvent, HttpRoute, RouteContext } from './http.js';
export { parseRange } from './range.js';
export type { ByteRange } from './range.js';
export { checkPrivileges, checkInterface } from './preflight.js';
export { agentBundlePath, cacheHome, hostSearchRoots } from './paths.js';
export { writeDemoProject, DEMO_MARKER } from './demo.js';
export type { DemoOptions } from './demo.js';
export { wireDhcp, wireHttp, wireSeeder, wireTftp, wireTracker } from './services.js';
export type { WireContext } from './services.js';
export { ServerError, ServerErrorCode } from './errors.js';
export type { Logger } from './errors.js';
export { MachinePlans, MACHINES_STATE_FILE } from './machines.js';
export type { MachinePlan, MachineOverride } from './machines.js';
export { machineRoutes, wireMachines, MAX_MACHINE_BODY } from './machines-api.js';
export {
  authorize,
  checkToken,
  refusalLog,
  DEFAULT_REFUSAL_BURST,
  DEFAULT_REFUSAL_INTERVAL_MS,
  DEFAULT_REFUSAL_SOURCES,
} from './auth.js';
export type { RefusalLog, RefusalLogOptions } from './auth.js';
export type { MachineRoutesOptions } from './machines-api.js';
export { Monitor, routeLabel } from './monitor.js';
export type { ClientRow, OsRow, MonitoredServices } from './monitor.js';
export { ClientLogs, MAX_LOG_LINES, MAX_LOG_CLIENTS, MAX_LOG_LINE_CHARS } from './client-logs.js';
export type { LogLine } from './client-logs.js';
export { StatusGuard, DEFAULT_REPORT_RATE, DEFAULT_REPORT_BURST } from './status-guard.js';
export type { StatusGuardOptions, Refusal } from './status-guard.js';
export { renderMetrics, METRICS_CONTENT_TYPE } from './metrics.js';
export { EventStreams, MAX_EVENT_STREAMS } from './sse.js';
export type { Snapshot, Summary } from './sse.js';
export { renderDashboard, escapeHtml, DASHBOARD_CSP } from './dashboard.js';
export { opsRoutes, parseLogBatch, MAX_LOG_BODY, MAX_LOG_BATCH } from './ops-routes.js';
export { runtimeService, RUNTIME_URL_PATH } from './runtime.js';
export type { RuntimeService, RuntimeServiceOptions, RuntimeReport } from './runtime.js';
export {
  RuntimeScheduler,
  ArrivalGate,
  DEFAULT_LOADER_SLOTS,
  DEFAULT_RUNTIME_SERVER_SLOTS,
  DEFAULT_RUNTIME_PEER_SLOTS,
  DEFAULT_RUNTIME_MAX_WAIT_MS,
  DEFAULT_RUNTIME_ASSIGN_TIMEOUT_MS,
  DEFAULT_RUNTIME_BUSY_HOLDER_WAIT_MS,
} from './scheduler.js';
export type {
  RuntimeSchedulerOptions,
  RuntimeHolder,
  RuntimeSource,
  RuntimeStats,
  RuntimeFailure,
} from './scheduler.js';
export {
  sendWake,
  wakeProject,
  knownMachines,
  magicPacket,
  normalizeWakeMac,
  wakeTarget,
  WOL_PORT,
  MAGIC_PACKET_SIZE,
} from './wake.js';
export type { WakeOptions, WakeSent, KnownMachine } from './wake.js';
export { wakeRoutes, wireWake } from './wake-api.js';
export type { WakeRoutesOptions } from './wake-api.js';
export { reloadRoutes, wireReload } from './reload-api.js';
export type { ReloadRoutesOptions } from './reload-api.js';
export {
  systemdUnit,
  sysusersConfig,
  unitName,
  DEFAULT_SERVICE_USER,
  SYSTEMD_UNIT_DIR,
  SYSUSERS_DIR,
} from './systemd.js';
export type { UnitOptions } from './systemd.js';
export { installService, removeService, systemdRunning } from './service-install.js';
export type { ServiceOptions, ServiceInstalled } from './service-install.js';
export { loaderRoutes } from './loader-route.js';
export type { LoaderRouteOptions } from './loader-route.js';
export { applyReload, reloadableProject, reloadFromDir, describeReload } from './reload.js';
export type { ReloadResult, ReloadTargets } from './reload.js';
export {
  SeederYield,
  DEFAULT_SEEDER_SHARE,
  SEEDER_YIELD_FLOOR_BPS,
  SEEDER_YIELD_IDLE_MS,
  SEEDER_YIELD_TICK_MS,
} from './seeder-yield.js';
export type { SeederYieldOptions, SeederYieldChange } from './seeder-yield.js';
