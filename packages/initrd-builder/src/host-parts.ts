import { access, readdir, realpath } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { readElf } from './elf.js';
import { InitrdError, InitrdErrorCode } from './errors.js';

/** The host files phase-1 is assembled from. Never prebuilt blobs: everything comes from the host. */
export interface HostParts {
  /** bzImage to boot. */
  kernel: string;
  /** Its release, e.g. "6.1.0-57-amd64". */
  kernelVersion: string;
  /** lib/modules/<kernelVersion> matching the kernel. */
  modulesDir: string;
  /** A statically linked busybox (Debian busybox-static). */
  busybox: string;
  /** The Node binary the agent runs on (real path). */
  node: string;
  /** kexec from kexec-tools (dynamically linked; its libraries are resolved from DT_NEEDED). */
  kexec: string;
  /** qemu-system-x86_64, when found (only needed for OSes using the qemu method). */
  qemu?: string;
}

/** Options of {@link findHostParts}; any explicit path wins over the search. */
export interface FindHostPartsOptions {
  kernel?: string;
  modulesDir?: string;
  busybox?: string;
  /** @default process.execPath (resolved) */
  node?: string;
  kexec?: string;
  qemu?: string;
  /** Filesystem roots searched for boot/vmlinuz-*, lib/modules, bin/busybox, sbin/kexec. @default DEFAULT_SEARCH_ROOTS */
  searchRoots?: string[];
}

/**
 * "/" plus every package tools/setup.sh unpacked under ./.cache/deb (relative to the working
 * directory): a kernel .deb and busybox-static are unpacked there, never installed.
 */
export async function defaultSearchRoots(cwd = process.cwd()): Promise<string[]> {
  const cache = join(cwd, '.cache/deb');
  const subdirs = await readdir(cache).catch(() => [] as string[]);
  return ['/', ...subdirs.sort().map((d) => join(cache, d))];
}

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

async function firstExisting(paths: string[]): Promise<string | undefined> {
  for (const p of paths) if (await exists(p)) return p;
  return undefined;
}

async function isStatic(path: string): Promise<boolean> {
  return readElf(path).then(
    (i) => i.interp === undefined,
    () => false,
  );
}

async function modulesDirFor(roots: string[], version: string): Promise<string | undefined> {
  return firstExisting(
    roots.flatMap((r) => [join(r, 'lib/modules', version), join(r, 'usr/lib/modules', version)]),
  );
}

async function findKernel(
  roots: string[],
): Promise<{ kernel: string; version: string; modulesDir: string } | undefined> {
  const found: { kernel: string; version: string; modulesDir: string }[] = [];
  for (const root of roots) {
    const files = await readdir(join(root, 'boot')).catch(() => [] as string[]);
    for (const f of files) {
      if (!f.startsWith('vmlinuz-')) continue;
      const version = f.slice('vmlinuz-'.length);
      const modulesDir = await modulesDirFor(roots, version);
      if (modulesDir) found.push({ kernel: join(root, 'boot', f), version, modulesDir });
    }
  }
  found.sort((a, b) => b.version.localeCompare(a.version, 'en', { numeric: true }));
  return found[0];
}

/** Each host part: what it is (for the message) and how to get it (for the hint). */
const FIX = {
  kernel: [
    'a kernel with its modules',
    'apt-get download linux-image-amd64 (then its linux-image-<ver> dependency) && dpkg -x <deb> <dir>, or apt-get install linux-image-amd64',
  ],
  busybox: [
    'a static busybox',
    'apt-get download busybox-static && dpkg -x busybox-static_*.deb <dir> (it conflicts with busybox)',
  ],
  node: ['node', 'pass the path of a Node >= 22 linux binary'],
  kexec: ['kexec', 'apt-get install kexec-tools'],
  qemu: ['qemu-system-x86_64', 'apt-get install qemu-system-x86'],
} as const satisfies Record<string, readonly [what: string, how: string]>;

/**
 * Finds the kernel, its modules, a static busybox, node, kexec (and qemu when asked) on this host.
 * Throws one InitrdError (code INITRD_HOST_PARTS_MISSING): the message lists everything missing, the
 * hint how to get each.
 */
export async function findHostParts(
  opts: FindHostPartsOptions & { requireQemu?: boolean } = {},
): Promise<HostParts> {
  const roots = (opts.searchRoots ?? (await defaultSearchRoots())).map((r) => resolve(r));
  const missing: (readonly [what: string, how: string])[] = [];
  let kernel = opts.kernel;
  let version = kernel ? basename(kernel).replace(/^vmlinuz-/, '') : undefined;
  let modulesDir = opts.modulesDir;
  if (!kernel) {
    const k = await findKernel(roots);
    if (k) {
      kernel = k.kernel;
      version = k.version;
      modulesDir ??= k.modulesDir;
    }
  } else if (!modulesDir && version) {
    modulesDir = await modulesDirFor(roots, version);
  }
  if (!kernel || !(await exists(kernel)) || !modulesDir || !(await exists(modulesDir)))
    missing.push(FIX.kernel);

  const busyboxCandidates = opts.busybox
    ? [opts.busybox]
    : roots.flatMap((r) => ['bin/busybox', 'usr/bin/busybox', 'sbin/busybox'].map((p) => join(r, p)));
  let busybox: string | undefined;
  for (const c of busyboxCandidates) {
    if ((await exists(c)) && (await isStatic(c))) {
      busybox = c;
      break;
    }
  }
  if (!busybox) missing.push(FIX.busybox);

  const node = await realpath(opts.node ?? process.execPath).catch(() => undefined);
  if (!node) missing.push(FIX.node);

  const kexec =
    opts.kexec ??
    (await firstExisting(roots.flatMap((r) => [join(r, 'usr/sbin/kexec'), join(r, 'sbin/kexec')])));
  if (!kexec || !(await exists(kexec))) missing.push(FIX.kexec);

  const qemu =
    opts.qemu ??
    (await firstExisting(
      roots.flatMap((r) => [join(r, 'usr/bin/qemu-system-x86_64'), join(r, 'bin/qemu-system-x86_64')]),
    ));
  if (opts.requireQemu && !qemu) missing.push(FIX.qemu);

  if (missing.length > 0 || !kernel || !modulesDir || !busybox || !node || !kexec) {
    throw new InitrdError(
      InitrdErrorCode.HostPartsMissing,
      `phase-1 needs host parts that were not found under ${roots.join(', ')}: ${missing.map(([what]) => what).join(', ')}`,
      { hint: missing.map(([what, how]) => `${what}: ${how}`).join('; ') },
    );
  }
  return {
    kernel,
    kernelVersion: version ?? basename(modulesDir),
    modulesDir,
    busybox,
    node,
    kexec,
    ...(qemu ? { qemu } : {}),
  };
}
