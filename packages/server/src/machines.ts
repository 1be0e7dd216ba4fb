import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  badCmdline,
  findMachine,
  machinesStateSchema,
  type MachineOverrideInput,
  type Project,
} from '@boottorrent/config';
import { ServerError, ServerErrorCode } from './errors.js';

/** Where the API's per-machine overrides live, in the project directory (config.yaml is never rewritten). */
export const MACHINES_STATE_FILE = 'machines.state.json';

/** What the API set for one machine; each field left out falls back to config.yaml's `machines:`. */
export type MachineOverride = { os?: string; menu?: boolean; cmdline?: string; updated?: string };

/** What one machine boots: config.yaml's `machines:` entry with the API's override on top. */
export interface MachinePlan {
  mac: string;
  /** Folder name under oss/, or null for the menu's default (general.default_os). */
  os: string | null;
  /** false: boot `os` at once; true: the menu, with `os` preselected. */
  menu: boolean;
  /** Extra kernel command line ('' when none). */
  cmdline: string;
  /** The `machines:` entry that matched (index, the MAC or pattern, its name), if one did. */
  config?: { index: number; match: string; name?: string };
  /** The API's override, if one is set. */
  override?: MachineOverride;
}

/**
 * The one seam for "what does this machine boot" (STYLE.md 4): `planFor(mac) → plan | null`, from
 * config.yaml's `machines:` and the overrides set through PUT /api/v1/machines/:mac. Overrides are
 * kept in `<project>/machines.state.json` (written whole to a temporary file, then renamed), so they
 * survive a restart and config.yaml with its comments is never rewritten.
 */
export class MachinePlans {
  readonly #project: Project;
  /** The OS names an override may pick: the project's, or what a reload serves now. */
  readonly #osNames: () => string[];
  readonly #file: string;
  readonly #overrides: Map<string, MachineOverride>;
  #saving: Promise<void> = Promise.resolve();

  private constructor(
    project: Project,
    file: string,
    overrides: Map<string, MachineOverride>,
    osNames: () => string[],
  ) {
    this.#project = project;
    this.#osNames = osNames;
    this.#file = file;
    this.#overrides = overrides;
  }

  /**
   * Loads the overrides saved by an earlier run. An override naming an OS the project no longer has
   * loses that field (reported through `warn`); an unreadable state file is a SERVER_BAD_OPTION.
   */
  static async open(
    project: Project,
    warn: (message: string) => void = () => {},
    /** The OS names served now (they change on reload). @default the project's oss/ */
    osNames: () => string[] = () => project.oss.map((o) => o.name),
  ): Promise<MachinePlans> {
    const file = join(project.dir, MACHINES_STATE_FILE);
    const overrides = new Map<string, MachineOverride>();
    let text: string | undefined;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw unreadable(file, e);
    }
    if (text !== undefined) {
      let parsed;
      try {
        parsed = machinesStateSchema.safeParse(JSON.parse(text));
      } catch (e) {
        throw unreadable(file, e);
      }
      if (!parsed.success) throw unreadable(file, new Error(parsed.error.issues[0]?.message));
      const names = new Set(project.oss.map((o) => o.name));
      for (const [mac, o] of Object.entries(parsed.data.machines)) {
        if (!MAC.test(mac)) continue;
        const override: MachineOverride = { ...o };
        if (o.os !== undefined && !names.has(o.os)) {
          warn(
            `${MACHINES_STATE_FILE}: ${mac} was set to boot "${o.os}", which is no longer in oss/; ignored`,
          );
          delete override.os;
        }
        if (o.cmdline !== undefined && badCmdline(o.cmdline)) delete override.cmdline;
        overrides.set(mac, override);
      }
    }
    return new MachinePlans(project, file, overrides, osNames);
  }

  /** The plan for `mac` (lower case, colons), or null when neither config.yaml nor the API sets one. */
  planFor(mac: string): MachinePlan | null {
    const found = findMachine(this.#project.config.machines, mac);
    const override = this.#overrides.get(mac);
    if (!found && !override) return null;
    const e = found?.entry;
    return {
      mac,
      os: override?.os ?? e?.os ?? null,
      menu: override?.menu ?? e?.menu ?? true,
      cmdline: override?.cmdline ?? e?.cmdline ?? '',
      ...(found && {
        config: { index: found.index, match: found.match, ...(e?.name && { name: e.name }) },
      }),
      ...(override && { override: { ...override } }),
    };
  }

  /**
   * What the per-client boot script adds to phase-1's command line for `mac`: `bt.os=<name>`,
   * `bt.menu=0|1`, then `bt.extra` followed by the extra words (last, so the agent knows them).
   */
  bootArgs(mac: string): string {
    const p = this.planFor(mac);
    if (!p) return '';
    const words: string[] = [];
    if (p.os) words.push(`bt.os=${p.os}`);
    // Always written, so the agent knows a plan came with the script (and skips the manifest's
    // machines:); bt.os alone would boot at once, bt.menu=1 keeps the menu with it preselected.
    words.push(`bt.menu=${p.menu ? 1 : 0}`);
    if (p.cmdline.trim()) words.push('bt.extra', p.cmdline.trim());
    return words.join(' ');
  }

  /** Every MAC with an exact `machines:` entry or an override, with its plan, sorted by MAC. */
  list(): MachinePlan[] {
    const macs = new Set(this.#overrides.keys());
    for (const m of this.#project.config.machines)
      for (const text of Array.isArray(m.mac) ? m.mac : [m.mac]) {
        const mac = text.toLowerCase().replaceAll('-', ':');
        if (MAC.test(mac)) macs.add(mac);
      }
    return [...macs]
      .sort()
      .map((mac) => this.planFor(mac))
      .filter((p): p is MachinePlan => p !== null);
  }

  /**
   * Sets (replaces) the override of `mac` and saves it; an empty override removes it. The caller
   * checked the fields (see {@link checkOverride}). Resolves once the state file is written; when it
   * cannot be written, rejects and the previous override stays in effect.
   */
  async set(mac: string, o: { os?: string | null; menu?: boolean | null; cmdline?: string | null }) {
    const next: MachineOverride = {};
    if (o.os != null) next.os = o.os;
    if (o.menu != null) next.menu = o.menu;
    if (o.cmdline != null) next.cmdline = o.cmdline;
    const before = this.#overrides.get(mac);
    if (Object.keys(next).length === 0) this.#overrides.delete(mac);
    else this.#overrides.set(mac, { ...next, updated: new Date().toISOString() });
    try {
      await this.#save();
    } catch (e) {
      // Not saved, so not in effect either: a restart must not bring back something else.
      if (before) this.#overrides.set(mac, before);
      else this.#overrides.delete(mac);
      throw e;
    }
    return this.planFor(mac);
  }

  /** Checks an override against the project: the OS exists, the command line is safe. Null when fine. */
  checkOverride(o: MachineOverrideInput): string | null {
    const served = this.#osNames();
    if (o.os != null && !served.includes(o.os)) {
      const names = served.join(', ');
      return `os "${o.os.slice(0, 60)}" is not a folder in oss/ (use one of: ${names})`;
    }
    const bad = o.cmdline != null ? badCmdline(o.cmdline) : null;
    return bad && `cmdline ${bad}`;
  }

  #save(): Promise<void> {
    const run = async () => {
      const machines = Object.fromEntries([...this.#overrides].sort(([a], [b]) => a.localeCompare(b)));
      const tmp = `${this.#file}.${randomBytes(4).toString('hex')}.tmp`;
      try {
        await writeFile(tmp, JSON.stringify({ version: 1, machines }, null, 2) + '\n');
        await rename(tmp, this.#file);
      } catch (e) {
        await rm(tmp, { force: true });
        throw new ServerError(ServerErrorCode.Start, `cannot save ${this.#file}: ${(e as Error).message}`, {
          cause: e,
          hint: 'check the permissions of the project directory',
        });
      }
    };
    // One write at a time, in order: the file always holds the latest state.
    const next = this.#saving.then(run, run);
    this.#saving = next.catch(() => {});
    return next;
  }
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

function unreadable(file: string, e: unknown): ServerError {
  return new ServerError(
    ServerErrorCode.BadOption,
    `${file} is not a machines state file: ${(e as Error).message}`,
    {
      cause: e,
      hint: `fix it or delete it (it holds only the overrides set through PUT /api/v1/machines/:mac)`,
    },
  );
}
