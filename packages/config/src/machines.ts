import { z } from 'zod';
import { MAX_MACHINE_CMDLINE, type MachineConfig } from './schema.js';

/**
 * Body of `PUT /api/v1/machines/<mac>`: the machine's override of its `machines:` entry. Each field
 * left out or null falls back to config.yaml; `{}` removes the override.
 */
export const machineOverrideSchema = z.strictObject({
  /** Folder name under oss/. */
  os: z.string().min(1).max(200).nullable().optional(),
  /** false boots at once; true shows the menu with `os` preselected. */
  menu: z.boolean().nullable().optional(),
  /** Extra kernel command line. */
  cmdline: z.string().max(MAX_MACHINE_CMDLINE).nullable().optional(),
});
export type MachineOverrideInput = z.infer<typeof machineOverrideSchema>;

/** The server's `machines.state.json`: the overrides set through the API, by MAC. */
export const machinesStateSchema = z.object({
  version: z.literal(1),
  machines: z.record(
    z.string(),
    z.object({
      os: z.string().optional(),
      menu: z.boolean().optional(),
      cmdline: z.string().optional(),
      /** When it was set (ISO 8601). */
      updated: z.string().optional(),
    }),
  ),
});
export type MachinesState = z.infer<typeof machinesStateSchema>;

/**
 * What a `machines:` entry's `mac` names: one machine, or every machine whose MAC starts with a
 * prefix of whole octets (`52:54:00:*`). MACs are lower case with colons.
 */
export type MacPattern = { kind: 'mac'; mac: string } | { kind: 'prefix'; prefix: string; octets: number };

const EXACT = /^[0-9a-f]{2}([:-][0-9a-f]{2}){5}$/i;
const PREFIX = /^[0-9a-f]{2}([:-][0-9a-f]{2}){0,4}[:-]\*$/i;

/** Parses a MAC (`aa:bb:cc:dd:ee:ff`, `-` also allowed) or a prefix (`aa:bb:cc:*`); null if neither. */
export function parseMacPattern(text: string): MacPattern | null {
  const s = text.trim().toLowerCase().replaceAll('-', ':');
  if (EXACT.test(s)) return { kind: 'mac', mac: s };
  if (PREFIX.test(s)) {
    const prefix = s.slice(0, -1); // keeps the trailing ':' so 52:54:0 cannot match 52:54:00
    return { kind: 'prefix', prefix, octets: prefix.split(':').length - 1 };
  }
  return null;
}

/** The pattern as written back: the MAC, or the prefix with its `*`. */
export function formatMacPattern(p: MacPattern): string {
  return p.kind === 'mac' ? p.mac : `${p.prefix}*`;
}

/** An entry's `mac` as a list of strings (a single MAC or pattern is a list of one). */
export function machineMacs(entry: Pick<MachineConfig, 'mac'>): string[] {
  return Array.isArray(entry.mac) ? entry.mac : [entry.mac];
}

/**
 * Why an extra command line cannot go into a boot script, or null when it can. iPXE expands `${…}`
 * in script lines and has its own quoting, and a line break would end the `kernel` line, so only
 * printable ASCII without quotes, `$` and backslash is taken.
 */
export function badCmdline(cmdline: string): string | null {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(cmdline)) return 'holds a control character or line break';
  if (/[^\u0020-\u007e]/.test(cmdline)) return 'holds a non-ASCII character';
  if (/["'`$\\]/.test(cmdline)) return 'holds a quote, $ or backslash';
  return null;
}

/** The `machines:` entry that applies to `mac`, with its index, or undefined when none does. */
export function findMachine(
  machines: readonly MachineConfig[],
  macArg: string,
): { entry: MachineConfig; index: number; match: string } | undefined {
  const mac = macArg.toLowerCase().replaceAll('-', ':');
  let best: { entry: MachineConfig; index: number; match: string; rank: number } | undefined;
  machines.forEach((entry, index) => {
    for (const text of machineMacs(entry)) {
      const p = parseMacPattern(text);
      if (!p) continue;
      // An exact MAC ranks above every prefix; a longer prefix above a shorter one; first entry wins ties.
      const rank = p.kind === 'mac' ? (p.mac === mac ? 6 : -1) : mac.startsWith(p.prefix) ? p.octets : -1;
      if (rank >= 0 && (!best || rank > best.rank)) best = { entry, index, match: formatMacPattern(p), rank };
    }
  });
  return best && { entry: best.entry, index: best.index, match: best.match };
}
