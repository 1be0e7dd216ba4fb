import { clientStatusAnswerSchema, type ClientStatus } from '@boottorrent/config';

/** Status POSTs give up after this long: the boot never waits on the server's dashboard. @default 1500 ms */
export const STATUS_TIMEOUT_MS = 1500;
/** Progress reports are sent at most this often. @default 1000 ms */
export const STATUS_MIN_INTERVAL_MS = 1000;

/**
 * What one report got: not sent (throttled, or no server to send to), no usable answer (timeout,
 * network error, 4xx/5xx), or the server's answer; `waiting` (machines that still need the OS) is
 * there when the server says it (a report in the `seeding` phase, see ClientStatusAnswer).
 */
export type StatusReply = { kind: 'skipped' } | { kind: 'failed' } | { kind: 'answered'; waiting?: number };

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
  report(status: ClientStatus): Promise<StatusReply> {
    if (!this.url) return Promise.resolve({ kind: 'skipped' });
    const now = Date.now();
    if (status.phase === this.lastPhase && now - this.lastSent < STATUS_MIN_INTERVAL_MS)
      return Promise.resolve({ kind: 'skipped' });
    this.lastPhase = status.phase;
    this.lastSent = now;
    const body = JSON.stringify({ ...this.base, ...status });
    const signal = AbortSignal.timeout(STATUS_TIMEOUT_MS);
    return fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      signal,
    }).then(
      async (res): Promise<StatusReply> => {
        const text = await res.text().catch(() => '');
        this.sent++;
        if (!res.ok) return { kind: 'failed' };
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        const answer = clientStatusAnswerSchema.safeParse(json);
        return answer.success ? { kind: 'answered', waiting: answer.data.waiting } : { kind: 'answered' };
      },
      (): StatusReply => {
        this.failed++;
        return { kind: 'failed' };
      },
    );
  }
}
