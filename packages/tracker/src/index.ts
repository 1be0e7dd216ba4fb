export {
  startTracker,
  DEFAULT_TRACKER_PORT,
  DEFAULT_ANNOUNCE_INTERVAL,
  PEER_TTL_INTERVALS,
} from './tracker.js';
export type { Tracker, TrackerOptions, TrackerEvents } from './tracker.js';
export type { SwarmStats, PeerStats } from './swarm.js';
export { TrackerError, TrackerErrorCode } from './errors.js';
export type { Logger } from './errors.js';
