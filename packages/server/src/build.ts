import { copyFile, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClientManifest, ManifestOs, OsEntry, Project } from '@boottorrent/config';
import {
  buildPayload,
  buildPhase1,
  findHostParts,
  type Phase1Progress,
  type Phase1Result,
} from '@boottorrent/initrd-builder';
import { findLoader, HOST_LOADERS, requiredLoaders } from '@boottorrent/pxe';
import { createTorrent, type CreatedTorrent } from '@boottorrent/seeder';
import { ServerError, ServerErrorCode } from './errors.js';
import { agentBundlePath, hostSearchRoots } from './paths.js';

/** Options of {@link buildOut}. */
export interface BuildOptions {
  project: Project;
  /** @default <project>/out */
  outDir?: string;
  /** Extra roots searched for the kernel, busybox and kexec. */
  hostRoots?: string[];
  /** Where phase-1 is built and cached; one can serve several projects. @default <outDir>/phase1 */
  phase1Dir?: string;
  /** A phase-1 built before, served as is (a reload keeps the running one). @default built or cached */
  phase1?: BuiltOut['phase1'];
  onProgress?: (e: BuildEvent) => void;
  signal?: AbortSignal;
}

/** Progress of {@link buildOut}: hashing per OS, phase-1 steps, and each part done (or up to date). */
export type BuildEvent =
  | { step: 'torrent'; os: string; hashedBytes: number; totalBytes: number }
  | { step: 'phase1'; detail: Phase1Progress }
  | { step: 'done'; what: string; ms: number; cached?: boolean };

/** A torrent built for one OS folder. */
export interface TorrentInfo extends CreatedTorrent {
  os: OsEntry;
}

/** What {@link buildOut} produced: everything the services serve. */
export interface BuiltOut {
  outDir: string;
  tftpRoot: string;
  /** Phase-1: `loaderInitrds` is what boot loaders load; /init fetches `runtime` (null with zstd). */
  phase1: Pick<Phase1Result, 'kernel' | 'initrds' | 'loaderInitrds' | 'runtime' | 'sizes'>;
  /** The payload initrd (manifest + torrents), loaded after phase-1's initrds. */
  payload: string;
  torrents: TorrentInfo[];
  manifest: ClientManifest;
  /** Loader names present in the TFTP root. */
  loaders: string[];
}

/** The URLs and addresses the clients will use; all derived from the config. */
export function serverUrls(p: Project) {
  const host = p.config.general.host_ip;
  const http = `http://${host}:${p.config.http.port}`;
  return {
    http,
    script: `${http}/boot.ipxe`,
    webSeed: `${http}/webseed/`,
    trackers: p.config.tracker.enable
      ? [`http://${host}:${p.config.tracker.port}/announce`, `udp://${host}:${p.config.tracker.port}`]
      : [],
  };
}

/**
 * Builds out/: a torrent per OS (hashes cached by path, size and mtime), the payload initrd, phase-1
 * (rebuilt only when its inputs change) and the boot loaders from the host. Idempotent.
 */
export async function buildOut(opts: BuildOptions): Promise<BuiltOut> {
  try {
    return await build(opts);
  } catch (e) {
    throw fileError(e) ?? e;
  }
}

/** Filesystem errnos that a user fixes (permissions, a full disk, a file where a folder should be). */
const FILE_ERRNOS = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOSPC', 'ENOTDIR', 'EEXIST', 'EISDIR']);

/** A filesystem failure of the build as one ServerError naming the path, or undefined for others. */
function fileError(e: unknown): ServerError | undefined {
  const err = e as NodeJS.ErrnoException;
  if (!err || typeof err.code !== 'string' || !FILE_ERRNOS.has(err.code) || !err.path) return undefined;
  return new ServerError(ServerErrorCode.Io, `cannot write ${err.path} while building out/ (${err.code})`, {
    cause: e,
    hint:
      err.code === 'ENOSPC'
        ? 'free some disk space there'
        : 'give the user running boottorrent write access to it, or pick other folders with --out and --phase1-dir',
  });
}

async function build(opts: BuildOptions): Promise<BuiltOut> {
  const { project } = opts;
  const cfg = project.config;
  const outDir = opts.outDir ?? join(project.dir, 'out');
  const tftpRoot = join(outDir, 'tftp');
  const phase1Dir = opts.phase1Dir ?? join(outDir, 'phase1');
  await mkdir(tftpRoot, { recursive: true });
  await mkdir(phase1Dir, { recursive: true });
  await mkdir(join(outDir, 'payload'), { recursive: true });
  const urls = serverUrls(project);
  const timed = async <T>(what: string, f: () => Promise<T>, cached?: (r: T) => boolean) => {
    const t0 = performance.now();
    const r = await f();
    opts.onProgress?.({ step: 'done', what, ms: Math.round(performance.now() - t0), cached: cached?.(r) });
    return r;
  };

  const torrents: TorrentInfo[] = [];
  for (const os of project.oss) {
    const t = await timed(`torrent ${os.name}`, () =>
      createTorrent(os.dir, {
        name: os.name,
        pieceLength: cfg.torrent.piece_length,
        announce: [...urls.trackers, ...cfg.tracker.announce],
        cacheFile: join(outDir, 'hash-cache.json'),
        signal: opts.signal,
        onProgress: (p) => opts.onProgress?.({ step: 'torrent', os: os.name, ...p }),
      }),
    );
    torrents.push({ ...t, os });
  }

  const manifest: ClientManifest = {
    version: 1,
    server: { address: cfg.general.host_ip, httpPort: cfg.http.port, seederPort: cfg.torrent.port },
    timeout: cfg.general.timeout,
    defaultOs: cfg.general.default_os,
    seedTime: cfg.general.seed_time,
    seedWhileNeeded: cfg.general.seed_while_needed,
    seedTimeMax: cfg.general.seed_time_max,
    trackers: [...urls.trackers, ...cfg.tracker.announce],
    lsd: cfg.torrent.lsd,
    pex: cfg.torrent.pex,
    oss: torrents.map((t) => manifestOs(t, cfg.torrent.web_seed ? urls.webSeed : undefined)),
    // For machines booted without the per-client script (pxelinux); absent when there are none.
    ...(cfg.machines.length > 0 && {
      machines: cfg.machines.map(({ mac, os, menu, cmdline }) => ({ mac, os, menu, cmdline })),
    }),
  };
  const payload = await timed('payload', () =>
    buildPayload({
      out: join(outDir, 'payload', 'payload.cpio.gz'),
      manifest,
      torrents: torrents.map((t) => ({ name: `${t.os.name}.torrent`, data: t.torrent })),
    }),
  );

  const phase1 =
    opts.phase1 ??
    (await (async () => {
      const parts = await findHostParts({
        searchRoots: await hostSearchRoots(opts.hostRoots),
        requireQemu: project.oss.some((o) => o.method === 'qemu'),
      });
      return timed(
        'phase-1',
        () =>
          buildPhase1({
            outDir: phase1Dir,
            parts,
            agentBundle: agentBundlePath(),
            compression: cfg.phase1.compression,
            ...(cfg.phase1.level === null ? {} : { level: cfg.phase1.level }),
            qemu: project.oss.some((o) => o.method === 'qemu'),
            onProgress: (detail) => opts.onProgress?.({ step: 'phase1', detail }),
            signal: opts.signal,
          }),
        (r) => r.cached,
      );
    })());

  const loaders = await copyLoaders(
    tftpRoot,
    cfg.tftp.enable ? requiredLoaders(cfg.dhcp.legacy_pxelinux) : [],
  );
  return { outDir, tftpRoot, phase1, payload: payload.path, torrents, manifest, loaders };
}

function manifestOs(t: TorrentInfo, webSeed: string | undefined): ManifestOs {
  const o = t.os;
  return {
    name: o.name,
    dispname: o.dispname,
    torrent: `${o.name}.torrent`,
    infoHash: t.infoHash,
    size: t.size,
    ...(webSeed ? { webSeed } : {}),
    method: o.method,
    ...(o.method === 'kexec' ? { kexec: { kernel: o.kernel!, initrds: o.initrds, cmdline: o.cmdline } } : {}),
    ...(o.method === 'bin' ? { bin: { bin: o.bin!, args: o.binargs } } : {}),
    ...(o.method === 'qemu' ? { qemu: { args: o.qemuArgs } } : {}),
  };
}

/** Copies the host's boot loaders into the TFTP root; a required one missing is an error naming its package. */
async function copyLoaders(tftpRoot: string, required: string[]): Promise<string[]> {
  const present: string[] = [];
  const missing: { name: string; pkg: string }[] = [];
  for (const l of HOST_LOADERS) {
    const src = await findLoader(l);
    if (!src) {
      if (required.includes(l.name)) missing.push({ name: l.name, pkg: l.pkg });
      continue;
    }
    const dst = join(tftpRoot, l.name);
    const [a, b] = await Promise.all([stat(src), stat(dst).catch(() => undefined)]);
    if (!b || b.size !== a.size || b.mtimeMs < a.mtimeMs) await copyFile(src, dst);
    present.push(l.name);
  }
  if (missing.length) {
    const pkgs = [...new Set(missing.map((m) => m.pkg))];
    throw new ServerError(
      ServerErrorCode.LoaderMissing,
      `boot loader${missing.length > 1 ? 's' : ''} not found: ${missing.map((m) => m.name).join(', ')}`,
      { hint: `install them: apt-get install ${pkgs.join(' ')}` },
    );
  }
  return present;
}
