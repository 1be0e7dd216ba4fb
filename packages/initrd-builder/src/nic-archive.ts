import { spawn } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { withParents } from './archive-file.js';
import { compress, type Compression } from './compress.js';
import type { CpioRecord } from './cpio-read.js';
import { readCpio, readInitrd } from './cpio-read.js';
import { writeCpio, type CpioEntry } from './cpio.js';
import { InitrdError, InitrdErrorCode } from './errors.js';
import { PHASE1_PATHS } from './init-script.js';
import { moduleName, parseModulesDep, parseModulesSoftdep, resolveModuleOrder } from './modules.js';
import { IpxeBusType, matchPciModules, parseBusId, parseModulesAlias, type BusId } from './nic-match.js';

/**
 * Where the full modules archive keeps its index (the kernel's modules.alias, modules.dep and
 * modules.softdep, cut down to the modules it holds), below `lib/modules/<version>/` as modprobe
 * expects them.
 */
export const NIC_INDEX_FILES = {
  alias: 'modules.alias',
  dep: 'modules.dep',
  softdep: 'modules.softdep',
} as const;

/** Why {@link NicModules.archiveFor} answered with the full set. */
export type FullSetReason = 'no-id' | 'not-pci' | 'no-match' | 'no-index';

/** What to send a machine for its boot NIC. */
export type NicArchive =
  | { kind: 'full'; path: string; size: number; reason: FullSetReason; id: BusId | null }
  | {
      kind: 'nic';
      /** The matched drivers and everything they need, in insmod order (module names). */
      modules: string[];
      data: Buffer;
      id: BusId;
    };

/** Per-NIC module archives cut from one phase-1's full modules archive; see {@link openNicModules}. */
export interface NicModules {
  /** The full modules archive. */
  readonly path: string;
  /**
   * The archive for the NIC iPXE names by `busid` (its `${netX/busid}` in any hex format): only the
   * modules whose modules.alias entries match that PCI vendor and device, plus their dependencies
   * and soft dependencies (r8169 gets the realtek PHY driver first).
   * An empty or unparsable id, a bus other than PCI, or an id no module matches gets the full set,
   * so no machine is left without its driver. Built once per module set, then served from memory.
   */
  archiveFor(busid: string): Promise<NicArchive>;
}

/** Options of {@link openNicModules}. */
export interface NicModulesOptions {
  /** Compression level of the per-NIC archives. @default DEFAULT_LEVEL of the full archive's compressor */
  level?: number;
}

interface Index {
  version: string;
  records: Map<string, CpioRecord>;
  dep: ReturnType<typeof parseModulesDep>;
  softdeps: ReturnType<typeof parseModulesSoftdep>;
  aliases: ReturnType<typeof parseModulesAlias>;
  kind: Compression;
}

/** The compressor of a file, from its magic bytes. */
function compressionOf(head: Buffer): Compression {
  if (head.subarray(0, 6).equals(Buffer.from('fd377a585a00', 'hex'))) return 'xz';
  if (head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  return 'none';
}

function unxz(bytes: Buffer, path: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('xz', ['-dc'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', (cause) =>
      reject(
        new InitrdError(InitrdErrorCode.ToolFailed, 'cannot run xz', {
          cause,
          hint: 'apt-get install xz-utils',
        }),
      ),
    );
    child.once('close', (code) =>
      code === 0
        ? resolve(Buffer.concat(out))
        : reject(new InitrdError(InitrdErrorCode.ToolFailed, `xz -dc ${path} failed: ${err.trim() || code}`)),
    );
    child.stdin.on('error', () => {});
    child.stdin.end(bytes);
  });
}

async function loadIndex(path: string): Promise<Index | null> {
  const bytes = await readFile(path);
  const kind = compressionOf(bytes);
  const recs = kind === 'xz' ? readCpio(await unxz(bytes, path)) : readInitrd(bytes);
  const records = new Map(recs.map((r) => [r.path, r]));
  const alias = recs.find((r) => /^lib\/modules\/[^/]+\/modules\.alias$/.test(r.path));
  if (!alias) return null;
  const version = alias.path.split('/')[2]!;
  const dep = records.get(`lib/modules/${version}/${NIC_INDEX_FILES.dep}`);
  if (!dep) return null;
  // Archives built before soft dependencies were honoured have no modules.softdep.
  const softdep = records.get(`lib/modules/${version}/${NIC_INDEX_FILES.softdep}`);
  return {
    version,
    records,
    dep: parseModulesDep(Buffer.from(dep.data).toString()),
    softdeps: parseModulesSoftdep(softdep ? Buffer.from(softdep.data).toString() : ''),
    aliases: parseModulesAlias(Buffer.from(alias.data).toString()),
    kind,
  };
}

/** The cpio entries of a modules archive: the insmod list /init reads, then the modules. */
export function modulesArchiveEntries(
  version: string,
  order: readonly string[],
  bytes: (rel: string) => Uint8Array | string,
): CpioEntry[] {
  return [
    {
      path: PHASE1_PATHS.modules,
      type: 'file',
      source: Buffer.from(order.map((m) => `${version}/${m}\n`).join('')),
    },
    ...order.map((rel): CpioEntry => ({
      path: `lib/modules/${version}/${rel}`,
      type: 'file',
      source: bytes(rel),
    })),
  ];
}

/**
 * Opens the full modules archive of a phase-1 (`Phase1Result.nicModules`) to cut per-NIC archives
 * from it. Nothing is read until the first request; the archive is read once.
 */
export function openNicModules(path: string, opts: NicModulesOptions = {}): NicModules {
  let index: Promise<Index | null> | undefined;
  const built = new Map<string, Promise<Buffer>>();
  const full = async (reason: FullSetReason, id: BusId | null): Promise<NicArchive> => ({
    kind: 'full',
    path,
    size: (await stat(path)).size,
    reason,
    id,
  });
  return {
    path,
    async archiveFor(busid) {
      const id = parseBusId(busid);
      if (!id) return full('no-id', null);
      if (id.type !== IpxeBusType.PCI) return full('not-pci', id);
      if (!index) {
        index = loadIndex(path);
        index.catch(() => (index = undefined)); // a failed read is tried again by the next request
      }
      const ix = await index;
      if (!ix) return full('no-index', id);
      const wanted = matchPciModules(ix.aliases, id).filter((m) => ix.dep.has(m));
      if (wanted.length === 0) return full('no-match', id);
      const { order } = resolveModuleOrder(ix.dep, wanted, { softdeps: ix.softdeps });
      const key = order.join('\n');
      let data = built.get(key);
      if (!data) {
        const entries = modulesArchiveEntries(ix.version, order, (rel) => {
          const r = ix.records.get(`lib/modules/${ix.version}/${rel}`);
          if (!r)
            throw new InitrdError(InitrdErrorCode.BadArchive, `${path} lists ${rel} but does not hold it`);
          return r.data;
        });
        const stream = compress(writeCpio(withParents(entries)), ix.kind, {
          ...(opts.level === undefined ? {} : { level: opts.level }),
        });
        data = stream.toArray().then((chunks: Buffer[]) => Buffer.concat(chunks));
        built.set(key, data);
        data.catch(() => built.delete(key));
      }
      return { kind: 'nic', modules: order.map(moduleName), data: await data, id };
    },
  };
}
