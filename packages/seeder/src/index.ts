export {
  AUTO_PIECE_COUNT,
  autoPieceLength,
  createTorrent,
  MAX_AUTO_PIECE_LENGTH,
  MIN_AUTO_PIECE_LENGTH,
} from './create-torrent.js';
export type { CreateTorrentOptions, CreatedTorrent } from './create-torrent.js';
export { startSeeder, DEFAULT_SEEDER_PORT, DEFAULT_SEEDER_MAX_CONNS } from './seeder.js';
export { DEFAULT_SUPER_SEED_SLOTS, SUPER_SEED_STALL_MS } from './super-seed.js';
export { UPLOAD_BACKLOG_BYTES, UPLOAD_BACKLOG_MAX_BYTES } from './upload-queue.js';
export { uploadBurstBytes } from './upload-limit.js';
export { BIG_REQUEST_BYTES, READ_BYTES } from './fast-wire.js';
export { SPAN_BLOCKS } from './span-request.js';
export { MAX_SPAN_BYTES } from './peer-id.js';
export { MAX_SERVED_REQUEST_BYTES } from './serve.js';
export { PIECE_CACHE_BYTES, SEEDER_PIECE_CACHE_BYTES, type PieceIo } from './piece-store.js';
export { POOL_BYTES_PER_LENGTH } from './buffer-pool.js';
export {
  MAX_PIPELINE_REQUESTS,
  MAX_TOTAL_REQUESTS,
  MIN_PIPELINE_PIECES,
  PIPELINE_DEPTH_SECONDS,
} from './picker.js';
export { chooseTrackers, DEFAULT_TRACKER_FALLBACK_MS } from './trackers.js';
export type { TrackerChoice } from './trackers.js';
export type { Seeder, SeederOptions, SeederEvents, SwarmUploadStats, TorrentUploadStats } from './seeder.js';
export {
  download,
  prepareDownload,
  DEFAULT_WEB_SEED_AFTER_MS,
  DEFAULT_DOWNLOAD_MAX_CONNS,
  PROGRESS_INTERVAL_MS,
  UPDATE_INTERVAL_MS,
} from './download.js';
export type {
  Download,
  DownloadOptions,
  DownloadProgress,
  PreparedDownload,
  PrepareOptions,
  StartOptions,
} from './download.js';
export type { PeerBytes } from './wires.js';
export { LAN_MIN_PIPELINE_SPEED, MAX_HASH_FAILS } from './wires.js';
export { PEER_ID_PREFIX } from './client.js';
export { SeederError, SeederErrorCode } from './errors.js';
export type { Logger } from './errors.js';
