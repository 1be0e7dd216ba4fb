import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { compress, type Compression } from './compress.js';
import { normalizeCpioPath, writeCpio, type CpioEntry } from './cpio.js';

/** Bumped whenever the archive layout changes, so old caches are rebuilt. */
const LAYOUT_VERSION = 1;

/** Adds a directory entry for every ancestor of every entry: the kernel's unpacker does not mkdir -p. */
export function withParents(entries: CpioEntry[]): CpioEntry[] {
  const have = new Set(entries.map((e) => normalizeCpioPath(e.path)));
  const out = [...entries];
  for (const e of entries) {
    const parts = normalizeCpioPath(e.path).split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (!have.has(dir)) {
        have.add(dir);
        out.push({ path: dir, type: 'dir' });
      }
    }
  }
  return out;
}

/**
 * A content key for a set of entries: host files by real path, size and mtime (hashing 100 MB of
 * Node on every start would cost more than it saves), in-memory bytes by SHA-256.
 */
export async function entriesKey(entries: CpioEntry[], extra: unknown): Promise<string> {
  const h = createHash('sha256');
  h.update(JSON.stringify({ LAYOUT_VERSION, extra }));
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const e of sorted) {
    let src = '';
    if (typeof e.source === 'string') {
      const s = await stat(e.source);
      src = `${e.source}:${s.size}:${s.mtimeMs}`;
    } else if (e.source) {
      src = createHash('sha256').update(e.source).digest('hex');
    }
    h.update(JSON.stringify([e.path, e.type, e.mode, e.target, e.major, e.minor, src]));
  }
  return h.digest('hex');
}

/** Writes entries as a compressed archive to `file` atomically (temp file, then rename). */
export async function writeArchiveFile(
  file: string,
  entries: CpioEntry[],
  kind: Compression,
  level: number | undefined,
  signal?: AbortSignal,
  x86Filter = true,
): Promise<number> {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    const stream = compress(writeCpio(entries), kind, {
      ...(level === undefined ? {} : { level }),
      x86Filter,
    });
    await pipeline(stream, createWriteStream(tmp), signal ? { signal } : {});
    await rename(tmp, file);
  } finally {
    await rm(tmp, { force: true });
  }
  return (await stat(file)).size;
}

/** Build record kept beside the outputs (`phase1.json`): what each file was built from. */
export interface BuildRecord {
  files: Record<string, { key: string; size: number }>;
  /** phase-1's runtime file: keyed by its parts' keys, with its hash. */
  runtime?: { key: string; size: number; sha256: string };
}

export async function readRecord(path: string): Promise<BuildRecord> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as BuildRecord;
  } catch {
    return { files: {} };
  }
}

export async function writeRecord(path: string, record: BuildRecord): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, JSON.stringify(record, null, 2));
  await rename(tmp, path);
}
