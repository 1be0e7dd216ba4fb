import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LogLine } from './client-logs.js';
import { totals } from './clients.js';
import type { ClientRow, Monitor, OsRow } from './monitor.js';

/** Dashboards that may listen at once; one more gets a 503. @default 32 */
export const MAX_EVENT_STREAMS = 32;
/** Client changes are sent at most this often, coalesced per machine. @default 250 ms */
export const EVENT_FLUSH_MS = 250;
/** The summary (totals, OS rows, upload rate) is sent this often; it doubles as the keep-alive. */
export const SUMMARY_MS = 1000;
/** Log lines of each machine the snapshot carries. */
export const SNAPSHOT_LOG_LINES = 20;
/** A stream whose unsent data passes this is dropped: a stalled dashboard must not hold memory. */
const MAX_BUFFERED = 1 << 20;

/** The swarm at a glance: what the summary line of the dashboard shows. */
export interface Summary {
  clients: number;
  fromServer: number;
  fromPeers: number;
  fromWebSeed: number;
  serverShare: number;
  uploaded: { seeder: number; webSeed: number };
  /** Server upload, bytes/s over the last second. */
  uploadRate: number;
  oss: OsRow[];
}

/** What a dashboard gets first on `GET /api/v1/events`, before the changes. */
export interface Snapshot {
  clients: ClientRow[];
  logs: Record<string, LogLine[]>;
  summary: Summary;
}

/**
 * The dashboard's one live stream, `GET /api/v1/events` (server-sent events): a `snapshot` first,
 * then `client` rows as they change (coalesced per machine, at most every {@link EVENT_FLUSH_MS}),
 * `log` lines as agents send them, and a `summary` every second. One stream per dashboard instead
 * of a poll per row.
 */
export class EventStreams {
  readonly #streams = new Set<ServerResponse>();
  readonly #pending = new Set<string>();
  readonly #pendingLogs = new Map<string, LogLine[]>();
  #flushTimer: NodeJS.Timeout | undefined;
  #summaryTimer: NodeJS.Timeout | undefined;
  #lastUpload = { at: 0, total: 0, rate: 0 };
  #closed = false;

  constructor(private readonly m: Monitor) {
    m.clients.on('change', (c) => this.#queue(c.mac));
    m.logs.on('append', (mac, lines) => {
      if (!this.#streams.size) return;
      const l = this.#pendingLogs.get(mac) ?? [];
      l.push(...lines);
      this.#pendingLogs.set(mac, l.slice(-SNAPSHOT_LOG_LINES));
      this.#schedule();
    });
  }

  /** Listening dashboards. */
  get size(): number {
    return this.#streams.size;
  }

  /** Answers `GET /api/v1/events`: the stream, or 503 with one line when too many are open. */
  open(req: IncomingMessage, res: ServerResponse): void {
    if (this.#closed || this.#streams.size >= MAX_EVENT_STREAMS) {
      const body = `too many event streams open (at most ${MAX_EVENT_STREAMS}); close a dashboard\n`;
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '10' }).end(body);
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    });
    if (req.method === 'HEAD') return void res.end();
    req.socket.setNoDelay(true);
    this.#streams.add(res);
    res.on('close', () => {
      this.#streams.delete(res);
      if (!this.#streams.size) this.#stopSummary();
    });
    res.write('retry: 2000\n\n');
    this.#send(res, 'snapshot', this.snapshot());
    this.#summaryTimer ??= setInterval(() => this.#broadcast('summary', this.summary()), SUMMARY_MS).unref();
  }

  snapshot(): Snapshot {
    const clients = this.m.rows();
    const logs: Record<string, LogLine[]> = {};
    for (const c of clients) {
      const tail = this.m.logs.tail(c.mac, SNAPSHOT_LOG_LINES);
      if (tail.length) logs[c.mac] = tail;
    }
    return { clients, logs, summary: this.summary() };
  }

  summary(): Summary {
    const clients = this.m.clients.list();
    const uploaded = this.m.uploaded();
    const total = uploaded.seeder + uploaded.webSeed;
    const now = Date.now();
    const u = this.#lastUpload;
    if (now - u.at >= 500) {
      u.rate = u.at ? ((total - u.total) * 1000) / (now - u.at) : 0;
      u.at = now;
      u.total = total;
    }
    return { clients: clients.length, ...totals(clients), uploaded, uploadRate: u.rate, oss: this.m.oss() };
  }

  /** Ends every stream; none opens after. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#flushTimer);
    this.#stopSummary();
    for (const s of this.#streams) s.end();
    this.#streams.clear();
  }

  #queue(mac: string): void {
    if (!this.#streams.size) return;
    this.#pending.add(mac);
    this.#schedule();
  }

  #schedule(): void {
    this.#flushTimer ??= setTimeout(() => this.#flush(), EVENT_FLUSH_MS).unref();
  }

  #flush(): void {
    this.#flushTimer = undefined;
    for (const mac of this.#pending) {
      const c = this.m.clients.get(mac);
      if (c) this.#broadcast('client', { ...c, rate: this.m.rate(mac) });
    }
    // The totals moved with the rows: send them now rather than at the next tick.
    if (this.#pending.size) this.#broadcast('summary', this.summary());
    this.#pending.clear();
    for (const [mac, lines] of this.#pendingLogs) this.#broadcast('log', { mac, lines });
    this.#pendingLogs.clear();
  }

  #stopSummary(): void {
    clearInterval(this.#summaryTimer);
    this.#summaryTimer = undefined;
  }

  #broadcast(event: string, data: unknown): void {
    if (!this.#streams.size) return;
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const s of this.#streams) this.#write(s, frame);
  }

  #send(s: ServerResponse, event: string, data: unknown): void {
    this.#write(s, `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  #write(s: ServerResponse, frame: string): void {
    if (s.writableLength > MAX_BUFFERED) {
      s.destroy();
      return;
    }
    s.write(frame);
  }
}
