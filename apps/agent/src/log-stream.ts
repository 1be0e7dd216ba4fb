/** Lines held while the server is slow or away; past it the oldest are dropped (and counted). @default 500 */
export const LOG_MAX_QUEUE = 500;
/** A batch leaves at most this often, so the console never turns into a request storm. @default 1000 ms */
export const LOG_FLUSH_MS = 1000;
/** Lines per batch (the server takes at most 100). @default 100 */
export const LOG_BATCH_LINES = 100;
/** Bytes of JSON per batch, under the server's 16 KiB limit. @default 12 KiB */
export const LOG_BATCH_BYTES = 12 * 1024;
/** Characters kept of one line (the server keeps 512). @default 512 */
export const LOG_LINE_CHARS = 512;
/** A log POST gives up after this long. @default 1500 ms */
export const LOG_TIMEOUT_MS = 1500;

/** Options of {@link LogStream}; the defaults are the exported constants. */
export interface LogStreamOptions {
  flushMs?: number;
  maxQueue?: number;
}

/**
 * Best-effort copy of the agent's console to `POST /api/v1/clients/<mac>/log`, so the dashboard
 * and `boottorrent start` can show why a machine failed. Bounded (a queue of {@link LOG_MAX_QUEUE}
 * lines, oldest dropped first), rate-limited (one batch in flight, at most one per
 * {@link LOG_FLUSH_MS}) and batched. Never throws and never delays the boot: the timer is unref'd
 * and a failed batch goes back to the queue for the next try.
 */
export class LogStream {
  private queue: string[] = [];
  /** The last queued line is a status line, which the next status line replaces. */
  private lastIsStatus = false;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private lastSent = 0;
  /** Lines dropped because the queue was full, not yet reported to the server. */
  private droppedUnreported = 0;
  /** Batches the server accepted / that failed. */
  sent = 0;
  failed = 0;
  private readonly flushMs: number;
  private readonly maxQueue: number;

  constructor(
    private readonly url: string | undefined,
    opts: LogStreamOptions = {},
  ) {
    this.flushMs = opts.flushMs ?? LOG_FLUSH_MS;
    this.maxQueue = opts.maxQueue ?? LOG_MAX_QUEUE;
  }

  /** The log URL, or undefined when the server or the MAC is unknown. */
  static url(server: string | undefined, httpPort: number, mac: string | undefined): string | undefined {
    if (!server || !mac) return undefined;
    const host = server.includes(':') ? `[${server}]` : server;
    return `http://${host}:${httpPort}/api/v1/clients/${encodeURIComponent(mac.toLowerCase())}/log`;
  }

  /** Lines queued and not yet sent. */
  get pending(): number {
    return this.queue.length;
  }

  /** A console line. */
  line(text: string): void {
    this.push(text, false);
  }

  /** A status line redrawn in place (progress): replaces the previous one if that is still queued. */
  status(text: string): void {
    this.push(text, true);
  }

  /** Sends what is queued now (one batch), e.g. right after an error; resolves when answered or timed out. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    return this.send();
  }

  private push(raw: string, isStatus: boolean): void {
    if (!this.url) return;
    for (const part of raw.split(/\r?\n/)) {
      const text = plain(part);
      if (!text) continue;
      if (isStatus && this.lastIsStatus && this.queue.length) this.queue[this.queue.length - 1] = text;
      else this.queue.push(text);
      this.lastIsStatus = isStatus;
    }
    const over = this.queue.length - this.maxQueue;
    if (over > 0) {
      this.queue.splice(0, over);
      this.droppedUnreported += over;
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.inFlight || !this.queue.length) return;
    const wait = Math.max(0, this.lastSent + this.flushMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.send();
    }, wait);
    this.timer.unref();
  }

  private send(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    if (!this.url || !this.queue.length) return Promise.resolve();
    const lines: string[] = [];
    let bytes = 32;
    while (lines.length < LOG_BATCH_LINES && this.queue.length) {
      const size = Buffer.byteLength(JSON.stringify(this.queue[0])) + 1;
      if (lines.length && bytes + size > LOG_BATCH_BYTES) break;
      bytes += size;
      lines.push(this.queue.shift()!);
    }
    if (!this.queue.length) this.lastIsStatus = false;
    const dropped = this.droppedUnreported;
    this.droppedUnreported = 0;
    this.lastSent = Date.now();
    this.inFlight = fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ lines, dropped }),
      signal: AbortSignal.timeout(LOG_TIMEOUT_MS),
    })
      .then(async (res) => {
        await res.arrayBuffer().catch(() => undefined);
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        this.sent++;
      })
      .catch(() => {
        // Back to the front of the queue for the next try, within the bound.
        this.failed++;
        this.queue.unshift(...lines);
        this.droppedUnreported += dropped;
        const over = this.queue.length - this.maxQueue;
        if (over > 0) {
          this.queue.splice(0, over);
          this.droppedUnreported += over;
        }
      })
      .finally(() => {
        this.inFlight = undefined;
        this.schedule();
      });
    return this.inFlight;
  }
}

/** A line without escape sequences and control characters, cut to {@link LOG_LINE_CHARS}. */
export function plain(line: string): string {
  // eslint-disable-next-line no-control-regex
  const text = line.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '').replace(/[\x00-\x1f\x7f]/g, '');
  return text.length > LOG_LINE_CHARS ? text.slice(0, LOG_LINE_CHARS) : text;
}
