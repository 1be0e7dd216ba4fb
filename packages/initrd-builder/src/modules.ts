import { execFile } from 'node:child_process';
import { access, mkdir, mkdtemp, readFile, rm, symlink, copyFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { zstdDecompressSync } from 'node:zlib';
import { InitrdError, InitrdErrorCode } from './errors.js';

/**
 * NIC drivers for common hardware and VMs, loaded in this order. virtio_net pulls in the virtio_pci
 * chain (see MODULE_SOFT_DEPS); Broadcom bnx2 also needs firmware files, which are not included.
 */
export const DEFAULT_NIC_MODULES = [
  'virtio_net',
  'e1000',
  'e1000e',
  'igb',
  'igc',
  'ixgbe',
  'i40e',
  'r8169',
  'tg3',
  'bnx2',
  'bnxt_en',
  'atlantic',
  'sky2',
  'vmxnet3',
] as const;

/**
 * Modules a driver needs that modules.dep does not list: virtio_net binds to nothing unless the
 * virtio PCI transport is loaded first (measured: lab-facts §3).
 */
export const MODULE_SOFT_DEPS: Readonly<Record<string, readonly string[]>> = {
  virtio_net: ['virtio_pci'],
};

/** Module name as the kernel spells it: file name without .ko[.xz|.zst|.gz], dashes as underscores. */
export function moduleName(path: string): string {
  return basename(path)
    .replace(/\.ko(\.xz|\.zst|\.gz)?$/, '')
    .replace(/-/g, '_');
}

/** Parses modules.dep: name → { path relative to the modules dir, direct dependencies' paths }. */
export function parseModulesDep(text: string): Map<string, { path: string; deps: string[] }> {
  const map = new Map<string, { path: string; deps: string[] }>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const path = line.slice(0, colon).trim();
    const deps = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .filter(Boolean);
    map.set(moduleName(path), { path, deps });
  }
  return map;
}

/**
 * Orders the dependency closure of `wanted` so each module comes after everything it needs (the
 * insmod order). Missing modules throw unless `skipMissing`; built-in ones are skipped silently.
 */
export function resolveModuleOrder(
  dep: Map<string, { path: string; deps: string[] }>,
  wanted: readonly string[],
  opts: { builtin?: Set<string>; skipMissing?: boolean } = {},
): { order: string[]; missing: string[] } {
  const order: string[] = [];
  const missing: string[] = [];
  const done = new Set<string>();
  const visit = (name: string, top: boolean) => {
    const key = name.replace(/-/g, '_');
    if (done.has(key) || opts.builtin?.has(key)) return;
    const m = dep.get(key);
    if (!m) {
      if (top && opts.skipMissing) {
        missing.push(key);
        return;
      }
      throw new InitrdError(InitrdErrorCode.ModuleMissing, `kernel module ${key} is not in modules.dep`);
    }
    done.add(key);
    for (const soft of MODULE_SOFT_DEPS[key] ?? []) visit(soft, false);
    for (const d of m.deps) visit(moduleName(d), false);
    order.push(m.path);
  };
  for (const name of wanted) visit(name, true);
  return { order, missing };
}

const run = promisify(execFile);

/** The kernel's module index files {@link loadModuleIndex} reads. */
export interface ModuleIndex {
  /** modules.dep: each module's path and the paths it needs. */
  dep: string;
  /** modules.alias: `alias <pattern> <module>` lines (device ids each module binds to); '' if none. */
  alias: string;
}

/**
 * Returns modules.dep and modules.alias of `modulesDir`. When the tree has no modules.dep (a
 * linux-image .deb unpacked with dpkg -x), runs `depmod -b` in a scratch tree whose kernel/ links to
 * the original, so the host's tree is never written to.
 */
export async function loadModuleIndex(modulesDir: string): Promise<ModuleIndex> {
  const read = (dir: string) =>
    Promise.all([
      readFile(join(dir, 'modules.dep'), 'utf8'),
      readFile(join(dir, 'modules.alias'), 'utf8').catch(() => ''),
    ]).then(([dep, alias]) => ({ dep, alias }));
  try {
    return await read(modulesDir);
  } catch {
    // fall through to depmod
  }
  const version = basename(modulesDir);
  const base = await mkdtemp(join(tmpdir(), 'bt-depmod-'));
  try {
    const dir = join(base, 'lib/modules', version);
    await mkdir(dir, { recursive: true });
    await symlink(join(modulesDir, 'kernel'), join(dir, 'kernel'));
    for (const f of ['modules.order', 'modules.builtin', 'modules.builtin.modinfo']) {
      await copyFile(join(modulesDir, f), join(dir, f)).catch(() => {});
    }
    await run('depmod', ['-b', base, version]).catch((cause: unknown) => {
      throw new InitrdError(
        InitrdErrorCode.ToolFailed,
        `${modulesDir} has no modules.dep and depmod failed`,
        { cause, hint: 'apt-get install kmod' },
      );
    });
    return await read(dir);
  } finally {
    await rm(base, { recursive: true, force: true });
  }
}

/** modules.dep text of `modulesDir` (see {@link loadModuleIndex}). */
export async function loadModulesDep(modulesDir: string): Promise<string> {
  return (await loadModuleIndex(modulesDir)).dep;
}

/** Names of modules built into the kernel (modules.builtin), which need no insmod. */
export async function loadBuiltin(modulesDir: string): Promise<Set<string>> {
  const text = await readFile(join(modulesDir, 'modules.builtin'), 'utf8').catch(() => '');
  return new Set(text.split('\n').filter(Boolean).map(moduleName));
}

/**
 * Module bytes ready for busybox insmod, which loads plain .ko only: .ko.zst is decompressed with
 * node:zlib, .ko.xz with the host's xz, .ko.gz with gunzip.
 */
export async function moduleBytes(path: string): Promise<Uint8Array> {
  if (path.endsWith('.zst')) return zstdDecompressSync(await readFile(path));
  if (path.endsWith('.xz')) {
    await access(path);
    const { stdout } = await run('xz', ['-dc', path], { encoding: 'buffer', maxBuffer: 1 << 30 }).catch(
      (cause: unknown) => {
        throw new InitrdError(InitrdErrorCode.ToolFailed, `xz -dc ${path} failed`, {
          cause,
          hint: 'apt-get install xz-utils',
        });
      },
    );
    return stdout;
  }
  if (path.endsWith('.gz')) {
    const { gunzipSync } = await import('node:zlib');
    return gunzipSync(await readFile(path));
  }
  return readFile(path);
}
