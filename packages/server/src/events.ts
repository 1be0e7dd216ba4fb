/**
 * What the boot server saw, one typed event each. The CLI prints them (a live table, plain lines or
 * JSON lines); another tool can log or count them. `type` tells them apart.
 */
export type ServerEvent =
  | { type: 'listening'; service: ServiceName; address: string; port: number }
  | { type: 'lease'; kind: string; mac: string; ip: string }
  | { type: 'boot'; mac: string; firmware: string; loader: string; message: string }
  | {
      type: 'tftp';
      kind: 'start' | 'end' | 'error';
      client: string;
      file?: string;
      bytes?: number;
      ms?: number;
      error?: string;
    }
  | { type: 'http'; method: string; path: string; status: number; bytes: number; remote: string }
  | {
      type: 'client';
      mac: string;
      why: string;
      phase: string;
      ip?: string;
      os?: string;
      progress?: number;
      bytesFromServer: number;
      bytesFromPeers: number;
      bytesFromWebSeed: number;
    }
  | {
      /** A request the server did not serve: a DHCP packet dropped or ignored, a TFTP request refused. */
      type: 'refused';
      service: 'dhcp' | 'tftp';
      /** MAC (DHCP) or address (TFTP, dropped DHCP packets). */
      client: string;
      reason: string;
      file?: string;
    }
  | {
      /** Phase-1's runtime: served by the server, redirected to a peer, a source failed, a client holds it, a holder left. */
      type: 'runtime';
      action: 'server' | 'redirect' | 'failed' | 'have' | 'left';
      mac: string;
      /** redirect: the holder's MAC. */
      peer?: string;
      /** failed: why the client asked again. */
      failed?: string;
      /** have: 'server' or "<ip> (<mac>)". */
      source?: string;
    }
  | {
      /** The seeder gave way to phase-1 on the server's link (capped), or got it back (lifted). */
      type: 'seeder-yield';
      action: 'capped' | 'lifted';
      /** capped: the seeder's upload cap, bytes/s. */
      bytesPerSecond?: number;
    }
  | { type: 'warning'; service: ServiceName; message: string };

/** The services a boot server runs. */
export type ServiceName = 'dhcp' | 'tftp' | 'http' | 'tracker' | 'seeder';

/** The event types, for `server.on(type, …)`. */
export type ServerEventMap = { [E in ServerEvent as E['type']]: [E] } & { event: [ServerEvent] };
