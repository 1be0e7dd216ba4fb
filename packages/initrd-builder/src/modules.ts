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
 * Modules a driver needs that neither modules.dep nor modules.softdep lists: virtio_net binds to
 * nothing unless the virtio PCI transport is loaded first (measured: lab-facts §3).
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

/** A module's soft dependencies: modules to load before it (`pre:`) and after it (`post:`). */
export interface SoftDeps {
  pre: string[];
  post: string[];
}

/**
 * Parses modules.softdep (what depmod collects from each module's `softdep` modinfo field, e.g.
 * Debian 6.1's `softdep r8169 pre: realtek`): module name → its `pre:` and `post:` modules, names
 * as the kernel spells them (underscores). As in kmod's parser (libkmod-config.c), names before the
 * first `pre:` or `post:` are ignored (Debian's `softdep cifs gcm`). kmod ≤ 30 uses only a module's
 * first line; depmod writes one line per MODULE_SOFTDEP, so this takes every line: a module too
 * many is harmless, one too few can leave a link down.
 */
export function parseModulesSoftdep(text: string): Map<string, SoftDeps> {
  const map = new Map<string, SoftDeps>();
  for (const line of text.split('\n')) {
    const [word, name, ...rest] = line.replace(/#.*/, '').trim().split(/\s+/);
    if (word !== 'softdep' || !name) continue;
    const key = name.replace(/-/g, '_');
    const entry = map.get(key) ?? { pre: [], post: [] };
    let list: string[] | null = null;
    for (const t of rest) {
      if (t === 'pre:') list = entry.pre;
      else if (t === 'post:') list = entry.post;
      else if (list && !list.includes(t.replace(/-/g, '_'))) list.push(t.replace(/-/g, '_'));
    }
    if (entry.pre.length + entry.post.length > 0) map.set(key, entry);
  }
  return map;
}

/** modules.softdep lines for `names`, naming only modules among them (the archive's own index). */
export function formatModulesSoftdep(
  softdeps: ReadonlyMap<string, SoftDeps>,
  names: readonly string[],
): string {
  const held = new Set(names);
  return names
    .map((name) => {
      const sd = softdeps.get(name);
      const pre = sd?.pre.filter((m) => held.has(m)) ?? [];
      const post = sd?.post.filter((m) => held.has(m)) ?? [];
      if (pre.length + post.length === 0) return '';
      const parts = [...(pre.length ? ['pre:', ...pre] : []), ...(post.length ? ['post:', ...post] : [])];
      return `softdep ${name} ${parts.join(' ')}\n`;
    })
    .join('');
}

/**
 * Orders the dependency closure of `wanted` so each module comes after everything it needs (the
 * insmod order), as modprobe does: a module's modules.dep dependencies, then its `pre:` soft
 * dependencies (`softdeps`, plus {@link MODULE_SOFT_DEPS}) with their own dependencies, then the
 * module, then its `post:` soft dependencies. Missing modules throw unless `skipMissing`; built-in
 * ones are skipped silently, and so are soft dependencies that are not built (modprobe, too, loads
 * what it finds). A soft dependency named by an alias (`crypto-crc32c`, `platform:…`) is not looked
 * up: none of the NIC drivers' is one in Debian 6.1.
 */
export function resolveModuleOrder(
  dep: Map<string, { path: string; deps: string[] }>,
  wanted: readonly string[],
  opts: {
    builtin?: Set<string>;
    skipMissing?: boolean;
    softdeps?: ReadonlyMap<string, SoftDeps>;
  } = {},
): { order: string[]; missing: string[] } {
  const order: string[] = [];
  const missing: string[] = [];
  const done = new Set<string>();
  const visit = (name: string, how: 'wanted' | 'needed' | 'soft') => {
    const key = name.replace(/-/g, '_');
    if (done.has(key) || opts.builtin?.has(key)) return;
    const m = dep.get(key);
    if (!m) {
      if (how === 'soft') return;
      if (how === 'wanted' && opts.skipMissing) {
        missing.push(key);
        return;
      }
      throw new InitrdError(InitrdErrorCode.ModuleMissing, `kernel module ${key} is not in modules.dep`);
    }
    done.add(key);
    const soft = opts.softdeps?.get(key);
    for (const d of m.deps) visit(moduleName(d), 'needed');
    for (const s of MODULE_SOFT_DEPS[key] ?? []) visit(s, 'needed');
    for (const s of soft?.pre ?? []) visit(s, 'soft');
    order.push(m.path);
    for (const s of soft?.post ?? []) visit(s, 'soft');
  };
  for (const name of wanted) visit(name, 'wanted');
  return { order, missing };
}

const run = promisify(execFile);

/** The kernel's module index files {@link loadModuleIndex} reads. */
export interface ModuleIndex {
  /** modules.dep: each module's path and the paths it needs. */
  dep: string;
  /** modules.alias: `alias <pattern> <module>` lines (device ids each module binds to); '' if none. */
  alias: string;
  /** modules.softdep: `softdep <module> pre: … post: …` lines; '' if none. */
  softdep: string;
}

/**
 * Returns modules.dep, modules.alias and modules.softdep of `modulesDir`. When the tree has no
 * modules.dep (a linux-image .deb unpacked with dpkg -x), runs `depmod -b` in a scratch tree whose
 * kernel/ links to the original, so the host's tree is never written to; depmod writes
 * modules.softdep there from each module's `softdep` modinfo field.
 */
export async function loadModuleIndex(modulesDir: string): Promise<ModuleIndex> {
  const read = (dir: string) =>
    Promise.all([
      readFile(join(dir, 'modules.dep'), 'utf8'),
      readFile(join(dir, 'modules.alias'), 'utf8').catch(() => ''),
      readFile(join(dir, 'modules.softdep'), 'utf8').catch(() => ''),
    ]).then(([dep, alias, softdep]) => ({ dep, alias, softdep }));
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
