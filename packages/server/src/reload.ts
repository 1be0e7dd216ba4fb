import { join } from 'node:path';
import { formatProblem, loadProject, type Project } from '@boottorrent/config';
import type { Seeder } from '@boottorrent/seeder';
import type { Tracker } from '@boottorrent/tracker';
import type { BuiltOut } from './build.js';

/** What {@link BootServer.reload} changed, by OS folder name. */
export interface ReloadResult {
  /** OS folders new since the last (re)load: hashed, seeded, whitelisted, in the payload. */
  added: string[];
  /** OS folders whose content changed: the new torrent replaces the old one. */
  changed: string[];
  /** OS folders gone: no longer seeded nor in the payload. */
  removed: string[];
  /** Settings that changed but take effect only on a restart (addresses, ports, DHCP, machines:). */
  restart: string[];
}

/**
 * The settings a reload does not apply: what sockets are bound to, what phase-1 was built from, and
 * `machines:` (the machine plans are loaded once). A reload keeps the running values of these.
 */
const RESTART_ONLY = ['dhcp', 'tftp', 'http', 'tracker', 'phase1', 'machines'] as const;

/** `next` with the settings only a restart applies taken from `running`, and their names if they differ. */
export function reloadableProject(running: Project, next: Project): { project: Project; restart: string[] } {
  const restart: string[] = [];
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  const a = running.config;
  const b = next.config;
  for (const key of RESTART_ONLY) if (!same(a[key], b[key])) restart.push(key);
  if (a.general.host_ip !== b.general.host_ip) restart.push('general.host_ip');
  for (const k of ['port', 'lsd', 'pex'] as const)
    if (!same(a.torrent[k], b.torrent[k])) restart.push(`torrent.${k}`);
  const config = {
    ...b,
    ...Object.fromEntries(RESTART_ONLY.map((k) => [k, a[k]])),
    general: { ...b.general, host_ip: a.general.host_ip },
    torrent: { ...b.torrent, port: a.torrent.port, lsd: a.torrent.lsd, pex: a.torrent.pex },
  } as Project['config'];
  return { project: { ...next, config }, restart };
}

/** The running services a reload updates (each optional: a server may run without it). */
export interface ReloadTargets {
  seeder?: Seeder;
  tracker?: Tracker;
  /** The web seed's `<os>/<path>` → file map the HTTP server reads on every request. */
  webSeedFiles?: Map<string, string>;
}

/**
 * Brings the running services from `before` to `after` (both built by buildOut): new and changed
 * torrents are whitelisted and seeded before anything is taken away, then the old torrents of
 * changed and removed OS folders stop being seeded (their files on disk are the new ones, which
 * would fail every peer's hash check), and the web seed serves exactly the new torrents' files.
 * Torrents that did not change are not touched, so their downloads go on.
 */
export async function applyReload(
  before: BuiltOut,
  after: BuiltOut,
  t: ReloadTargets,
): Promise<Omit<ReloadResult, 'restart'>> {
  const old = new Map(before.torrents.map((x) => [x.os.name, x]));
  const now = new Map(after.torrents.map((x) => [x.os.name, x]));
  const added: string[] = [];
  const changed: string[] = [];
  for (const [name, x] of now) {
    const prev = old.get(name);
    if (prev?.infoHash === x.infoHash) continue;
    (prev ? changed : added).push(name);
    t.tracker?.allow(x.infoHash);
    await t.seeder?.add({ torrent: x.torrent, dir: x.os.dir });
  }
  const removed = [...old.keys()].filter((name) => !now.has(name));
  for (const name of [...changed, ...removed]) await t.seeder?.remove(old.get(name)!.infoHash);
  if (t.webSeedFiles) {
    t.webSeedFiles.clear();
    for (const x of after.torrents)
      for (const f of x.files) t.webSeedFiles.set(`${x.os.name}/${f.path}`, join(x.os.dir, f.path));
  }
  return { added, changed, removed };
}

/** A reload's outcome as one line for a log: what was added, changed, removed, what needs a restart. */
export function describeReload(r: ReloadResult): string {
  const parts = [
    r.added.length ? `added ${r.added.join(', ')}` : '',
    r.changed.length ? `changed ${r.changed.join(', ')}` : '',
    r.removed.length ? `removed ${r.removed.join(', ')}` : '',
  ].filter(Boolean);
  const what = parts.length ? parts.join('; ') : 'no OS changed';
  return r.restart.length ? `${what}; restart to apply: ${r.restart.join(', ')}` : what;
}

/**
 * What `start` does on SIGHUP: loads the project from `dir` again and hands it to `server.reload`.
 * A project with problems, or a build that fails, leaves the server as it was and comes back as
 * one line per problem (file:line:column for config problems).
 */
export async function reloadFromDir(
  server: { reload(project: Project): Promise<ReloadResult> },
  dir: string,
): Promise<{ ok: true; result: ReloadResult; warnings: string[] } | { ok: false; problems: string[] }> {
  const r = await loadProject(dir);
  if (!r.project) return { ok: false, problems: r.errors.map((e) => formatProblem(e)) };
  try {
    const result = await server.reload(r.project);
    return { ok: true, result, warnings: r.warnings.map((w) => formatProblem(w)) };
  } catch (e) {
    const err = e as { message?: string; hint?: string };
    return { ok: false, problems: [`${err.message ?? String(e)}${err.hint ? ` (${err.hint})` : ''}`] };
  }
}
