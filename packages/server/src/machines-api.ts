import type { IncomingMessage, ServerResponse } from 'node:http';
import { ensureApiToken, machineOverrideSchema, type Project } from '@boottorrent/config';
import { authorize } from './auth.js';
import type { ClientTable } from './clients.js';
import { ServerError, ServerErrorCode } from './errors.js';
import type { ServerEvent } from './events.js';
import { readBody, type HttpRoute, type RouteContext } from './http.js';
import { oneLine } from './line.js';
import { MachinePlans } from './machines.js';

/** Largest body PUT /api/v1/machines/:mac takes. @default 4 KiB */
export const MAX_MACHINE_BODY = 4096;

const MAC = /^[0-9a-f]{2}([:-][0-9a-f]{2}){5}$/i;

/** Options of {@link machineRoutes}. */
export interface MachineRoutesOptions {
  plans: MachinePlans;
  clients: ClientTable;
  /** The project's API token: write requests must send `Authorization: Bearer <token>`. */
  token: string;
  /** One line for the log: a refused write (401) or a changed machine. */
  log(message: string): void;
}

/**
 * The machine-control API: `GET /api/v1/machines` (every machine config.yaml names exactly or the
 * API has set), `GET /api/v1/machines/:mac` (the plan for any MAC), and, with the token,
 * `PUT /api/v1/machines/:mac` (next OS, menu on/off, extra cmdline; saved in the project) and
 * `DELETE /api/v1/machines/:mac` (back to config.yaml). Bad input gets a 4xx with one line.
 */
export function machineRoutes(o: MachineRoutesOptions): HttpRoute[] {
  const json = (ctx: RouteContext, status: number, body: unknown) =>
    ctx.send(status, JSON.stringify(body) + '\n', 'application/json');
  const macOf = (ctx: RouteContext): string | null => {
    const raw = ctx.params[0]!;
    if (MAC.test(raw)) return raw.toLowerCase().replaceAll('-', ':');
    ctx.send(400, `bad MAC "${oneLine(raw, 40)}": expected six hex pairs, e.g. 52:54:00:12:34:56\n`);
    return null;
  };
  const authorized = (req: IncomingMessage, res: ServerResponse, ctx: RouteContext): boolean =>
    authorize(req, res, ctx, o.token, o.log);
  const one = /^\/api\/v1\/machines\/([^/]+)$/;
  return [
    {
      method: 'GET',
      path: /^\/api\/v1\/machines\/?$/,
      handle: (_req, _res, ctx) => json(ctx, 200, o.plans.list()),
    },
    {
      method: 'GET',
      path: one,
      handle(_req, _res, ctx) {
        const mac = macOf(ctx);
        if (!mac) return;
        const plan = o.plans.planFor(mac);
        if (!plan) return ctx.send(404, `no machines: entry or override applies to ${mac}\n`);
        json(ctx, 200, plan);
      },
    },
    {
      method: 'PUT',
      path: one,
      async handle(req, res, ctx) {
        if (!authorized(req, res, ctx)) return void req.resume();
        const mac = macOf(ctx);
        if (!mac) return void req.resume();
        const body = await readBody(req, MAX_MACHINE_BODY);
        if (body === 'aborted') return;
        if (body === 'too-large') {
          res.setHeader('connection', 'close');
          return ctx.send(413, `body over ${MAX_MACHINE_BODY} bytes\n`);
        }
        let input: unknown;
        try {
          input = JSON.parse(body);
        } catch {
          return ctx.send(400, 'body is not JSON: send e.g. {"os": "debian", "menu": false}\n');
        }
        const parsed = machineOverrideSchema.safeParse(input);
        if (!parsed.success) {
          const i = parsed.error.issues[0]!;
          const what =
            i.code === 'unrecognized_keys'
              ? `unknown field "${oneLine(i.keys[0]!, 40)}" (known: os, menu, cmdline)`
              : `${i.path.join('.') || 'body'}: ${i.message}`;
          return ctx.send(400, `${what}\n`);
        }
        const bad = o.plans.checkOverride(parsed.data);
        if (bad) return ctx.send(400, `${bad}\n`);
        const plan = await o.plans.set(mac, parsed.data).catch((e: Error) => e);
        if (plan instanceof Error) return ctx.send(500, `${plan.message}\n`);
        o.log(`machine ${mac} set by ${ctx.remote}: ${describe(plan)}`);
        o.clients.replan(mac);
        json(ctx, 200, plan);
      },
    },
    {
      method: 'DELETE',
      path: one,
      async handle(req, res, ctx) {
        if (!authorized(req, res, ctx)) return;
        const mac = macOf(ctx);
        if (!mac) return;
        const plan = await o.plans.set(mac, {}).catch((e: Error) => e);
        if (plan instanceof Error) return ctx.send(500, `${plan.message}\n`);
        o.log(`machine ${mac} override removed by ${ctx.remote}`);
        o.clients.replan(mac);
        res.writeHead(204).end();
      },
    },
  ];
}

function describe(p: { os: string | null; menu: boolean; cmdline: string } | null): string {
  if (!p) return 'back to the defaults';
  return `os ${p.os ?? '(default)'}, menu ${p.menu ? 'on' : 'off'}${p.cmdline ? `, cmdline "${p.cmdline}"` : ''}`;
}

/**
 * The machine plans wired for the HTTP side: loads `machines.state.json`, makes sure the project
 * has its API token (written, mode 0600, when missing), hands the client table the plans, and gives
 * the per-client boot script its words and the API its routes.
 */
export async function wireMachines(o: {
  project: Project;
  clients: ClientTable;
  emit(e: ServerEvent): void;
  /** The OS names served now (a reload adds and removes some). @default the project's */
  osNames?: () => string[];
}): Promise<{ plans: MachinePlans; routes: HttpRoute[]; cmdlineFor(mac: string): string }> {
  const log = (message: string) => o.emit({ type: 'warning', service: 'http', message });
  const plans = await MachinePlans.open(o.project, log, o.osNames);
  const { token } = await ensureApiToken(o.project.dir).catch((e: Error & { hint?: string }) => {
    throw new ServerError(ServerErrorCode.BadOption, e.message, { cause: e, hint: e.hint ?? '' });
  });
  o.clients.usePlans((mac) => plans.planFor(mac));
  return {
    plans,
    routes: machineRoutes({ plans, clients: o.clients, token, log }),
    cmdlineFor: (mac) => plans.bootArgs(mac),
  };
}
