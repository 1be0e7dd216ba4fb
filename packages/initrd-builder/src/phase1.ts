import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, readdir, lstat, readlink, realpath, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { entriesKey, readRecord, withParents, writeArchiveFile, writeRecord } from './archive-file.js';
import type { CpioEntry } from './cpio.js';
import { resolveLibraries, stripElf } from './elf.js';
import { InitrdError, InitrdErrorCode } from './errors.js';
import type { HostParts } from './host-parts.js';
import { initScript, PHASE1_PATHS, UDHCPC_SCRIPT } from './init-script.js';
import {
  DEFAULT_NIC_MODULES,
  formatModulesSoftdep,
  loadBuiltin,
  loadModuleIndex,
  moduleBytes,
  moduleName,
  parseModulesDep,
  parseModulesSoftdep,
  resolveModuleOrder,
} from './modules.js';
import { modulesArchiveEntries, NIC_INDEX_FILES } from './nic-archive.js';
import { RUNTIME_PATHS, RUNTIME_SCRIPT } from './runtime-script.js';

/** Progress of {@link buildPhase1}: one event per output file. */
export type Phase1Progress =
  | { type: 'building'; file: string }
  | { type: 'built'; file: string; size: number; ms: number }
  | { type: 'cached'; file: string; size: number }
  | { type: 'skipped-module'; module: string };

/** Options of {@link buildPhase1}. */
export interface BuildPhase1Options {
  /** Output folder: vmlinuz, *.cpio.{xz,zst,gz}, phase1.json (the cache record). */
  outDir: string;
  parts: HostParts;
  /** The agent as one bundled .mjs (no native modules); becomes /agent.mjs. */
  agentBundle: string;
  /**
   * NIC drivers (names as in modules.dep) plus their dependency closure, soft dependencies included
   * (modules.softdep: r8169 needs the realtek PHY driver first). @default DEFAULT_NIC_MODULES
   */
  nicModules?: string[];
  /** Compressor of every archive; the file names follow it. @default DEFAULT_PHASE1_COMPRESSION */
  compression?: 'gzip' | 'zstd' | 'xz';
  /** Compression level. @default DEFAULT_LEVEL (gzip 9, zstd 19, xz 6) */
  level?: number;
  /** Add qemu-system-x86_64, its libraries and firmware (only when some OS uses the qemu method). @default false */
  qemu?: boolean;
  /** Drop Node's symbols and DWARF (sstrip-style; 126.6 → 108.5 MB). @default true */
  stripNode?: boolean;
  onProgress?: (event: Phase1Progress) => void;
  signal?: AbortSignal;
}

/** The runtime: phase-1's second stage (Node + the agent), fetched by /init, checked by SHA-256. */
export interface Phase1Runtime {
  /** The node and agent archives concatenated, as served (`runtime.cpio.<ext>`). */
  path: string;
  /** Hex SHA-256 of the file; base carries it (RUNTIME_PATHS.info), so clients can check any source. */
  sha256: string;
  size: number;
  /** Compressed size of each archive in the file, in order (busybox cpio stops at an archive's end). */
  parts: number[];
}

/** What {@link buildPhase1} produced. */
export interface Phase1Result {
  kernel: string;
  /**
   * Every initrd in load order: base, modules, node, agent (and qemu). Loading all of them boots
   * without the runtime fetch (/init skips it when Node is there); concatenating them works too.
   */
  initrds: string[];
  /**
   * What the boot loader loads in the two-stage boot: base, modules (and qemu); /init fetches the
   * runtime.
   */
  loaderInitrds: string[];
  /**
   * The NIC modules archive (`modules.cpio.<ext>`, one of the initrds): every NIC driver, their
   * dependencies (modules.dep's and modules.softdep's), the list /init loads them from, and the
   * matching lines of modules.alias, modules.dep and modules.softdep, from which
   * {@link openNicModules} cuts one NIC's archive. null without modules.
   */
  nicModules: string | null;
  /** null with zstd (busybox cannot unpack it): then the loader loads every initrd, as `initrds`. */
  runtime: Phase1Runtime | null;
  /** Bytes per part (uncompressed) and per output file, plus `total` (kernel + initrds as served). */
  sizes: Record<string, number>;
  /** True when nothing had to be rebuilt. */
  cached: boolean;
}

/**
 * xz (host `xz`, CRC32, x86 BCJ filter): the smallest phase-1, 39.0 MB vs 43.0 MB with zstd -19. Phase-1
 * is the one download every client makes from the server alone (HTTP or TFTP, not swarmed), so its
 * size is paid N times over the server's link. xz's slower unpacking (8 s more under QEMU TCG,
 * measured; roughly 1.5 s for ~110 MB on hardware) is paid once per client, in parallel. See the README.
 */
export const DEFAULT_PHASE1_COMPRESSION = 'xz';

/**
 * QEMU's firmware and data folders (qemu-system-data, seabios, ipxe-qemu) and its loadable modules:
 * Debian builds TCG as one (accel-tcg-x86_64.so); without it QEMU stops with "could not load module
 * for type 'tcg-accel-ops'". A module's own libraries are looked up only when QEMU loads it.
 */
export const QEMU_DATA_DIRS = [
  '/usr/share/qemu',
  '/usr/share/seabios',
  '/usr/lib/ipxe/qemu',
  '/usr/lib/x86_64-linux-gnu/qemu',
] as const;

function abortCheck(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) {
    throw new InitrdError(InitrdErrorCode.Aborted, `building ${what} was aborted`, { cause: signal.reason });
  }
}

const x = (path: string, source: string | Uint8Array): CpioEntry => ({
  path,
  type: 'file',
  mode: 0o755,
  source,
});

async function libEntries(binaries: string[]): Promise<CpioEntry[]> {
  const seen = new Map<string, CpioEntry>();
  for (const bin of binaries) {
    for (const lib of await resolveLibraries(bin)) {
      if (!seen.has(lib)) seen.set(lib, x(lib, await realpath(lib)));
    }
  }
  return [...seen.values()];
}

async function treeEntries(dir: string): Promise<CpioEntry[]> {
  const out: CpioEntry[] = [];
  const walk = async (d: string) => {
    for (const name of await readdir(d).catch(() => [] as string[])) {
      const p = join(d, name);
      const s = await lstat(p);
      if (s.isSymbolicLink()) out.push({ path: p, type: 'symlink', target: await readlink(p) });
      else if (s.isDirectory()) await walk(p);
      else if (s.isFile()) out.push({ path: p, type: 'file', mode: s.mode & 0o777, source: p });
    }
  };
  await walk(dir);
  return out;
}

/**
 * Assembles phase-1 from host parts: the kernel plus initrds in load order — base (/init, busybox,
 * kexec), modules (every NIC driver; a server may send one NIC's cut instead, see
 * {@link openNicModules}), node (Node and every shared library), agent (/agent.mjs), and qemu when
 * asked. Each file is rebuilt only when its inputs change (phase1.json records their keys).
 */
export async function buildPhase1(opts: BuildPhase1Options): Promise<Phase1Result> {
  const { outDir, parts } = opts;
  const kind = opts.compression ?? DEFAULT_PHASE1_COMPRESSION;
  const ext = { zstd: 'zst', gzip: 'gz', xz: 'xz' }[kind];
  const emit = opts.onProgress ?? (() => {});
  abortCheck(opts.signal, 'phase-1');
  if (opts.qemu && !parts.qemu) {
    throw new InitrdError(
      InitrdErrorCode.HostPartsMissing,
      'an OS uses the qemu method but qemu-system-x86_64 was not found',
      { hint: 'apt-get install qemu-system-x86' },
    );
  }
  await mkdir(join(outDir, '.work'), { recursive: true });
  const recordPath = join(outDir, 'phase1.json');
  const record = await readRecord(recordPath);
  const sizes: Record<string, number> = {};
  let cached = true;

  const index = await loadModuleIndex(parts.modulesDir);
  const dep = parseModulesDep(index.dep);
  const softdeps = parseModulesSoftdep(index.softdep);
  const { order, missing } = resolveModuleOrder(dep, opts.nicModules ?? DEFAULT_NIC_MODULES, {
    builtin: await loadBuiltin(parts.modulesDir),
    skipMissing: opts.nicModules === undefined,
    softdeps,
  });
  for (const module of missing) emit({ type: 'skipped-module', module });
  // Module paths as stored: plain .ko (busybox insmod loads nothing else), relative to lib/modules/<ver>.
  const plainOf = (rel: string) => rel.replace(/\.(xz|zst|gz)$/, '');
  const sources = new Map<string, string | Uint8Array>();
  sizes.modules = 0;
  for (const rel of order) {
    const src = join(parts.modulesDir, rel);
    const source = rel === plainOf(rel) ? src : await moduleBytes(src);
    sizes.modules += typeof source === 'string' ? (await stat(source)).size : source.length;
    sources.set(plainOf(rel), source);
  }
  const names = new Set(order.map(moduleName));
  const modulesIndex = (): CpioEntry[] => {
    const root = `lib/modules/${parts.kernelVersion}`;
    const alias = index.alias
      .split('\n')
      .filter((l) => names.has(l.split(/\s+/)[2]?.replace(/-/g, '_') ?? ''))
      .map((l) => `${l}\n`)
      .join('');
    const depText = order
      .map(
        (rel) => `${plainOf(rel)}: ${dep.get(moduleName(rel))!.deps.map(plainOf).join(' ')}`.trimEnd() + '\n',
      )
      .join('');
    return [
      { path: `${root}/${NIC_INDEX_FILES.alias}`, type: 'file', source: Buffer.from(alias) },
      { path: `${root}/${NIC_INDEX_FILES.dep}`, type: 'file', source: Buffer.from(depText) },
      {
        path: `${root}/${NIC_INDEX_FILES.softdep}`,
        type: 'file',
        source: Buffer.from(formatModulesSoftdep(softdeps, order.map(moduleName))),
      },
    ];
  };
  const modulesEntries = (): CpioEntry[] => [
    ...modulesArchiveEntries(parts.kernelVersion, [...sources.keys()], (rel) => sources.get(rel)!),
    ...modulesIndex(),
  ];

  let node = parts.node;
  if (opts.stripNode ?? true) {
    const s = await stat(parts.node);
    node = join(outDir, '.work', `node-${s.size}-${Math.floor(s.mtimeMs)}`);
    if (!(await stat(node).catch(() => null))) await stripElf(parts.node, node);
  }
  sizes.kernel = (await stat(parts.kernel)).size;
  sizes.busybox = (await stat(parts.busybox)).size;
  sizes.node = (await stat(node)).size;
  sizes.kexec = (await stat(parts.kexec)).size;
  sizes.agent = (await stat(opts.agentBundle)).size;

  const baseEntries = (runtimeInfo: string): CpioEntry[] => [
    { path: 'dev/console', type: 'chardev', major: 5, minor: 1, mode: 0o600 },
    { path: 'dev/null', type: 'chardev', major: 1, minor: 3, mode: 0o666 },
    ...['proc', 'sys', 'run', 'tmp', 'root', 'sbin', 'usr/bin', 'usr/sbin'].map((path): CpioEntry => ({
      path,
      type: 'dir',
    })),
    { path: 'bin/sh', type: 'symlink', target: 'busybox' },
    x('init', Buffer.from(initScript())),
    x('bin/busybox', parts.busybox),
    x(PHASE1_PATHS.udhcpcScript, Buffer.from(UDHCPC_SCRIPT)),
    { path: 'etc/passwd', type: 'file', source: Buffer.from('root:x:0:0:root:/root:/bin/sh\n') },
    { path: 'etc/group', type: 'file', source: Buffer.from('root:x:0:\n') },
    x('usr/sbin/kexec', parts.kexec),
    ...(runtimeInfo
      ? [
          { path: RUNTIME_PATHS.info, type: 'file', source: Buffer.from(runtimeInfo) } as CpioEntry,
          x(RUNTIME_PATHS.script, Buffer.from(RUNTIME_SCRIPT)),
        ]
      : []),
  ];
  const archives: { name: string; entries: CpioEntry[] }[] = [
    ...(order.length > 0 ? [{ name: 'modules', entries: modulesEntries() }] : []),
    { name: 'node', entries: [x(PHASE1_PATHS.node, node), ...(await libEntries([parts.node, parts.kexec]))] },
    {
      name: 'agent',
      entries: [{ path: PHASE1_PATHS.agent, type: 'file', mode: 0o644, source: opts.agentBundle }],
    },
  ];
  if (opts.qemu && parts.qemu) {
    const data = (await Promise.all(QEMU_DATA_DIRS.map(treeEntries))).flat();
    archives.push({
      name: 'qemu',
      entries: [x('usr/bin/qemu-system-x86_64', parts.qemu), ...(await libEntries([parts.qemu])), ...data],
    });
  }

  const kernelOut = join(outDir, 'vmlinuz');
  const kernelKey = await entriesKey([{ path: 'vmlinuz', type: 'file', source: parts.kernel }], null);
  if (record.files.vmlinuz?.key !== kernelKey || !(await stat(kernelOut).catch(() => null))) {
    await copyFile(parts.kernel, kernelOut);
    record.files.vmlinuz = { key: kernelKey, size: sizes.kernel };
    cached = false;
  }

  const built = new Map<string, string>();
  const buildArchive = async (name: string, entries: CpioEntry[]) => {
    const file = `${name}.cpio.${ext}`;
    abortCheck(opts.signal, file);
    const path = join(outDir, file);
    const full = withParents(entries);
    // busybox's unxz (in /init) has no x86 filter: the runtime's archives are built without it.
    const x86Filter = !(kind === 'xz' && (name === 'node' || name === 'agent'));
    const key = await entriesKey(full, { kind, level: opts.level, ...(x86Filter ? {} : { x86Filter }) });
    const prev = record.files[file];
    const onDisk = await stat(path).catch(() => null);
    if (prev?.key === key && onDisk?.size === prev.size) {
      emit({ type: 'cached', file, size: prev.size });
    } else {
      emit({ type: 'building', file });
      const t0 = performance.now();
      const size = await writeArchiveFile(path, full, kind, opts.level, opts.signal, x86Filter).catch(
        (cause: unknown) => {
          if (opts.signal?.aborted)
            throw new InitrdError(InitrdErrorCode.Aborted, `building ${file} was aborted`, { cause });
          throw cause;
        },
      );
      record.files[file] = { key, size };
      await writeRecord(recordPath, record);
      emit({ type: 'built', file, size, ms: Math.round(performance.now() - t0) });
      cached = false;
    }
    sizes[file] = record.files[file]!.size;
    built.set(name, path);
  };
  for (const { name, entries } of archives) await buildArchive(name, entries);

  // The runtime: node + agent, byte for byte, in one file. busybox unpacks gzip and xz, not zstd: a
  // zstd phase-1 stays one stage (the boot loader loads everything, /init finds Node and skips the fetch).
  const runtimeParts = [built.get('node')!, built.get('agent')!];
  const nameOf = (p: string) => p.slice(outDir.length + 1);
  let runtime: Phase1Runtime | null = null;
  let info = '';
  if (kind !== 'zstd') {
    const path = join(outDir, `runtime.cpio.${ext}`);
    const key = JSON.stringify(runtimeParts.map((p) => record.files[nameOf(p)]!.key));
    let rec = record.runtime?.key === key ? record.runtime : undefined;
    if (!rec || (await stat(path).catch(() => null))?.size !== rec.size) {
      abortCheck(opts.signal, 'the runtime');
      rec = { key, ...(await concatFiles(runtimeParts, path)) };
      record.runtime = rec;
      await writeRecord(recordPath, record);
      cached = false;
    }
    const partSizes = runtimeParts.map((p) => record.files[nameOf(p)]!.size);
    runtime = { path, sha256: rec.sha256, size: rec.size, parts: partSizes };
    info = `sha256=${rec.sha256}\nname=runtime.cpio.${ext}\nparts=${partSizes.join(' ')}\n`;
    sizes.runtime = rec.size;
  }
  await buildArchive('base', baseEntries(info));

  await writeRecord(recordPath, record);
  const initrds = ['base', ...archives.map((a) => a.name)].map((n) => built.get(n)!);
  const loaderInitrds = runtime ? initrds.filter((p) => !runtimeParts.includes(p)) : initrds;
  sizes.total = sizes.kernel + initrds.reduce((sum, p) => sum + (sizes[nameOf(p)] ?? 0), 0);
  const nicModules = built.get('modules') ?? null;
  return { kernel: kernelOut, initrds, loaderInitrds, nicModules, runtime, sizes, cached };
}

/** Concatenates `files` into `out` atomically, hashing on the way. */
async function concatFiles(files: string[], out: string): Promise<{ sha256: string; size: number }> {
  const tmp = `${out}.tmp-${process.pid}`;
  const h = createHash('sha256');
  let size = 0;
  try {
    const ws = createWriteStream(tmp);
    for (const f of files) {
      await pipeline(
        createReadStream(f),
        async function* (src: AsyncIterable<Buffer>) {
          for await (const chunk of src) {
            h.update(chunk);
            size += chunk.length;
            yield chunk;
          }
        },
        ws,
        { end: false },
      );
    }
    await new Promise<void>((resolve, reject) => ws.end((e?: Error | null) => (e ? reject(e) : resolve())));
    await rename(tmp, out);
  } finally {
    await rm(tmp, { force: true });
  }
  return { sha256: h.digest('hex'), size };
}
