import { readApiToken, type Project } from '@boottorrent/config';
import type { ServerEvent } from './events.js';
import { authorize } from './auth.js';
import type { HttpRoute } from './http.js';
import { oneLine } from './line.js';
import { describeReload, reloadFromDir, type ReloadResult } from './reload.js';

/** Options of {@link reloadRoutes}. */
export interface ReloadRoutesOptions {
  /** The project's API token (`Authorization: Bearer <token>`). */
  token: string;
  /** The project folder loaded again on each request. */
  dir: string;
  /** The running server's reload (serialized there: one at a time). */
  reload(project: Project): Promise<ReloadResult>;
  /** One line for the log: a refused request, a reload done or refused. */
  log(message: string): void;
}

/**
 * `POST /api/v1/reload` (token): what SIGHUP does. Loads the project folder again and serves what
 * changed; 200 with the one-line summary, 422 with one line per problem when the config is broken
 * or the build fails (the running project stays), 401 with one log line for a wrong or missing token.
 */
export function reloadRoutes(o: ReloadRoutesOptions): HttpRoute[] {
  return [
    {
      method: 'POST',
      path: /^\/api\/v1\/reload$/,
      async handle(req, res, ctx) {
        req.resume(); // no body is read
        if (!authorize(req, res, ctx, o.token, o.log)) return;
        const r = await reloadFromDir({ reload: o.reload }, o.dir);
        if (!r.ok) {
          const lines = r.problems.map((p) => oneLine(p, 400));
          o.log(
            `reload by ${ctx.remote} refused, the running project stays: ${lines[0] ?? 'unknown problem'}`,
          );
          return ctx.send(422, `${lines.join('\n')}\n`);
        }
        const line = `reloaded: ${describeReload(r.result)}`;
        o.log(`${line} (by ${ctx.remote})`);
        ctx.send(200, `${line}\n`);
      },
    },
  ];
}

/** The reload route wired for a project: its token (written by wireMachines), log lines as warnings. */
export async function wireReload(o: {
  project: Project;
  reload(project: Project): Promise<ReloadResult>;
  emit(e: ServerEvent): void;
}): Promise<HttpRoute[]> {
  const found = await readApiToken(o.project.dir);
  return reloadRoutes({
    token: found?.token ?? '', // no token: every request is refused
    dir: o.project.dir,
    reload: o.reload,
    log: (message) => o.emit({ type: 'warning', service: 'http', message }),
  });
}
