import type { ClientStatus } from '@boottorrent/config';

/** Status POSTs give up after this long: the boot never waits on the server's dashboard. @default 1500 ms */
export const STATUS_TIMEOUT_MS = 1500;
/** Progress reports are sent at most this often. @default 1000 ms */
export const STATUS_MIN_INTERVAL_MS = 1000;

/**
 * Best-effort reporter of `POST /api/v1/clients/<mac>/status`. Never throws; phase changes are
 * always sent, progress updates of the same phase at most once a second.
 */
export class StatusReporter {
  private lastPhase = '';
  private lastSent = 0;
  /** Requests that got an HTTP answer / that failed or timed out. */
  sent = 0;
  failed = 0;

  constructor(
    private readonly url: string | undefined,
    private readonly base: Pick<ClientStatus, 'ip'>,
  ) {}

  /** Builds the status URL, or undefined when the server or the MAC is unknown. */
  static url(server: string | undefined, httpPort: number, mac: string | undefined): string | undefined {
    if (!server || !mac) return undefined;
    const host = server.includes(':') ? `[${server}]` : server;
    return `http://${host}:${httpPort}/api/v1/clients/${encodeURIComponent(mac.toLowerCase())}/status`;
  }

  /** Sends (or skips, when throttled) a report; resolves when it is answered or has timed out. */
  report(status: ClientStatus): Promise<void> {
    if (!this.url) return Promise.resolve();
    const now = Date.now();
    if (status.phase === this.lastPhase && now - this.lastSent < STATUS_MIN_INTERVAL_MS)
      return Promise.resolve();
    this.lastPhase = status.phase;
    this.lastSent = now;
    const body = JSON.stringify({ ...this.base, ...status });
    return fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(STATUS_TIMEOUT_MS),
    }).then(
      async (res) => {
        await res.arrayBuffer().catch(() => undefined);
        this.sent++;
      },
      () => {
        this.failed++;
      },
    );
  }
}
