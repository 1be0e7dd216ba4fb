import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdir, readFile, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { API_TOKEN_FILE, type Project } from '@boottorrent/config';
import { ServerError, ServerErrorCode } from './errors.js';
import { MACHINES_STATE_FILE } from './machines.js';
import {
  DEFAULT_SERVICE_USER,
  SYSTEMD_UNIT_DIR,
  SYSUSERS_DIR,
  sysusersConfig,
  systemdUnit,
  unitName,
} from './systemd.js';

const run = promisify(execFile);

/** Options of {@link installService} and {@link removeService}. */
export interface ServiceOptions {
  project: Project;
  /** Absolute path of the boottorrent CLI script the unit runs. */
  cli: string;
  /** @default process.execPath */
  node?: string;
  /** @default {@link DEFAULT_SERVICE_USER} */
  user?: string;
  /**
   * Write under this directory instead of `/` and run nothing (no systemd-sysusers, no chown, no
   * systemctl): for packaging and tests.
   */
  root?: string;
}

/** What {@link installService} did, for the CLI to say. */
export interface ServiceInstalled {
  unit: string;
  unitFile: string;
  sysusersFile: string;
  /** Whether systemctl daemon-reload ran (systemd is running and `root` was not given). */
  reloaded: boolean;
}

/** Whether this machine booted with systemd as init (sd_booted(3)). */
export function systemdRunning(): boolean {
  return existsSync('/run/systemd/system');
}

/**
 * Writes `/etc/systemd/system/boottorrent-<project>.service` and `/etc/sysusers.d/<user>.conf`;
 * then, unless `root` is given: creates the user (systemd-sysusers), checks it can reach the project
 * directory (refused before the unit is written otherwise), hands it the project directory, out/,
 * the API token and machines.state.json, and runs `systemctl daemon-reload` when systemd runs.
 * Enabling and starting stay the administrator's step.
 */
export async function installService(o: ServiceOptions): Promise<ServiceInstalled> {
  const root = o.root ?? '/';
  const user = o.user ?? DEFAULT_SERVICE_USER;
  // systemd's rule for user names; the name also names the sysusers.d file.
  if (!/^[A-Za-z_][A-Za-z0-9_-]{0,30}$/.test(user))
    throw new ServerError(ServerErrorCode.BadOption, `user "${user}" is not a valid system user name`, {
      hint: 'use letters, digits, _ and - (not first), at most 31 characters, e.g. boottorrent',
    });
  const dir = resolve(o.project.dir);
  const unit = unitName(dir);
  const text = systemdUnit({
    projectDir: dir,
    node: o.node ?? process.execPath,
    cli: resolve(o.cli),
    dhcp: o.project.config.dhcp.enable,
    user,
  });
  const unitFile = join(root, SYSTEMD_UNIT_DIR, unit);
  // One file per user: a second project installed with another --user must not drop the first's line.
  const sysusersFile = join(root, SYSUSERS_DIR, `${user}.conf`);
  await atomicWrite(sysusersFile, sysusersConfig(user));
  if (o.root !== undefined) {
    await atomicWrite(unitFile, text);
    return { unit, unitFile, sysusersFile, reloaded: false };
  }
  await tool('systemd-sysusers', [sysusersFile]);
  const { stdout } = await tool('id', ['-u', user]);
  const { stdout: gid } = await tool('id', ['-g', user]);
  const [uid, g] = [Number(stdout.trim()), Number(gid.trim())];
  await assertReachable(dir, user, uid, g);
  await atomicWrite(unitFile, text);
  await mkdir(join(dir, 'out'), { recursive: true });
  await tool('chown', ['-R', `${uid}:${g}`, join(dir, 'out')]);
  for (const p of [dir, join(dir, API_TOKEN_FILE), join(dir, MACHINES_STATE_FILE)])
    if (await stat(p).catch(() => null)) await chown(p, uid, g);
  const reloaded = systemdRunning();
  if (reloaded) await tool('systemctl', ['daemon-reload']);
  return { unit, unitFile, sysusersFile, reloaded };
}

/**
 * Refuses a project the service user cannot reach: every directory above it must let `uid:gid`
 * search it (x for the owner, else the group, else others; as the kernel picks, ACLs aside), along
 * the path as given and along its real path (symbolic links resolved). A project under /root (mode
 * 0700) would otherwise install fine and fail at every start.
 */
async function assertReachable(dir: string, user: string, uid: number, gid: number): Promise<void> {
  const seen = new Set<string>();
  for (const start of [dir, await realpath(dir)])
    for (let d = dirname(start); !seen.has(d); d = dirname(d)) {
      seen.add(d);
      const st = await stat(d);
      const bit = st.uid === uid ? 0o100 : st.gid === gid ? 0o010 : 0o001;
      if (!(st.mode & bit))
        throw new ServerError(
          ServerErrorCode.BadOption,
          `user ${user} cannot reach ${dir}: ${d} is mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}, owner ${st.uid}:${st.gid}`,
          { hint: `chmod o+x ${d}, or move the project where ${user} can reach it (e.g. under /srv)` },
        );
    }
}

/**
 * Stops and disables the project's unit (when systemd runs), deletes its file and reloads systemd.
 * The user and its sysusers.d line stay (other projects' units may use them). Resolves to the unit
 * file removed, or null when there was none.
 */
export async function removeService(o: Omit<ServiceOptions, 'cli'>): Promise<string | null> {
  const unit = unitName(resolve(o.project.dir));
  const unitFile = join(o.root ?? '/', SYSTEMD_UNIT_DIR, unit);
  const text = await readFile(unitFile, 'utf8').catch(() => null);
  if (text === null) return null;
  const live = o.root === undefined && systemdRunning();
  if (live) await tool('systemctl', ['disable', '--now', unit]);
  await rm(unitFile);
  if (live) await tool('systemctl', ['daemon-reload']);
  return unitFile;
}

async function atomicWrite(file: string, text: string): Promise<void> {
  await mkdir(join(file, '..'), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode: 0o644 });
  await rename(tmp, file);
}

async function tool(cmd: string, args: string[]): Promise<{ stdout: string }> {
  try {
    return await run(cmd, args, { encoding: 'utf8' });
  } catch (e) {
    const err = e as { stderr?: string; message: string; code?: unknown };
    const why = (err.stderr ?? '').trim().split('\n')[0] || err.message;
    throw new ServerError(ServerErrorCode.Start, `${cmd} ${args.join(' ')} failed: ${why}`, {
      cause: e,
      hint: err.code === 'ENOENT' ? `install ${cmd} (Debian package systemd or coreutils)` : 'run as root',
    });
  }
}
