import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
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
 * Writes `/etc/systemd/system/boottorrent-<project>.service` and `/etc/sysusers.d/boottorrent.conf`;
 * then, unless `root` is given: creates the user (systemd-sysusers), hands it the project directory,
 * out/, the API token and machines.state.json, and runs `systemctl daemon-reload` when systemd runs.
 * Enabling and starting stay the administrator's step.
 */
export async function installService(o: ServiceOptions): Promise<ServiceInstalled> {
  const root = o.root ?? '/';
  const user = o.user ?? DEFAULT_SERVICE_USER;
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
  const sysusersFile = join(root, SYSUSERS_DIR, `${DEFAULT_SERVICE_USER}.conf`);
  await atomicWrite(unitFile, text);
  await atomicWrite(sysusersFile, sysusersConfig(user));
  if (o.root !== undefined) return { unit, unitFile, sysusersFile, reloaded: false };
  await tool('systemd-sysusers', [sysusersFile]);
  const { stdout } = await tool('id', ['-u', user]);
  const { stdout: gid } = await tool('id', ['-g', user]);
  const [uid, g] = [Number(stdout.trim()), Number(gid.trim())];
  await mkdir(join(dir, 'out'), { recursive: true });
  await tool('chown', ['-R', `${uid}:${g}`, join(dir, 'out')]);
  for (const p of [dir, join(dir, API_TOKEN_FILE), join(dir, MACHINES_STATE_FILE)])
    if (await stat(p).catch(() => null)) await chown(p, uid, g);
  const reloaded = systemdRunning();
  if (reloaded) await tool('systemctl', ['daemon-reload']);
  return { unit, unitFile, sysusersFile, reloaded };
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
