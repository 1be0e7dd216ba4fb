import { readApiToken, type Project } from '@boottorrent/config';
import type { ServerEvent } from './events.js';
import { authorize } from './auth.js';
import type { HttpRoute } from './http.js';
import { oneLine } from './line.js';
import { normalizeWakeMac, sendWake, type WakeSent } from './wake.js';

/** Options of {@link wakeRoutes}. */
export interface WakeRoutesOptions {
  /** The project's API token (`Authorization: Bearer <token>`). */
  token: string;
  /** Sends the magic packet (normally {@link sendWake} from the server's address). */
  wake(mac: string): Promise<WakeSent[]>;
  /** One line for the log: a refused request or a machine woken. */
  log(message: string): void;
}

/**
 * `POST /api/v1/machines/:mac/wake` (token): one Wake-on-LAN magic packet for the machine, sent as
 * a broadcast on the boot interface. 202 with `{mac, to, port}`; a bad MAC is a 400, a wrong or
 * missing token a 401 with one log line.
 */
export function wakeRoutes(o: WakeRoutesOptions): HttpRoute[] {
  return [
    {
      method: 'POST',
      path: /^\/api\/v1\/machines\/([^/]+)\/wake$/,
      async handle(req, res, ctx) {
        req.resume(); // no body is read
        if (!authorize(req, res, ctx, o.token, o.log)) return;
        const mac = normalizeWakeMac(ctx.params[0]!);
        if (!mac)
          return ctx.send(
            400,
            `bad MAC "${oneLine(ctx.params[0]!, 40)}": expected six hex pairs, e.g. 52:54:00:12:34:56\n`,
          );
        const sent = await o.wake(mac).catch((e: Error) => e);
        if (sent instanceof Error) return ctx.send(500, `${oneLine(sent.message)}\n`);
        o.log(`wake-on-LAN sent to ${mac} (${sent[0]?.to}:${sent[0]?.port}) by ${ctx.remote}`);
        ctx.send(202, JSON.stringify(sent[0]) + '\n', 'application/json');
      },
    },
  ];
}

/** The wake route wired for a project: its token, packets from `general.host_ip`, log lines as warnings. */
export async function wireWake(o: { project: Project; emit(e: ServerEvent): void }): Promise<HttpRoute[]> {
  const found = await readApiToken(o.project.dir);
  // wireMachines writes the token when it is missing; without one, every wake request is refused.
  const token = found?.token ?? '';
  return wakeRoutes({
    token,
    wake: (mac) => sendWake({ macs: [mac], address: o.project.config.general.host_ip }),
    log: (message) => o.emit({ type: 'warning', service: 'http', message }),
  });
}
