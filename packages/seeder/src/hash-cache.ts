import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** What a cache entry is keyed by: every file's path, size and mtime, plus the piece length. */
export interface CacheKeyFile {
  path: string;
  size: number;
  mtimeMs: number;
}

interface CacheEntry {
  pieceLength: number;
  files: CacheKeyFile[];
  /** base64 of the concatenated SHA-1 piece digests */
  pieces: string;
}

interface CacheFile {
  version: 1;
  entries: Record<string, CacheEntry>;
}

function entryKey(dir: string, pieceLength: number): string {
  return `${dir}\0${pieceLength}`;
}

async function load(cacheFile: string): Promise<CacheFile> {
  try {
    const parsed = JSON.parse(await readFile(cacheFile, 'utf8')) as Partial<CacheFile>;
    if (parsed.version === 1 && parsed.entries && typeof parsed.entries === 'object')
      return parsed as CacheFile;
  } catch {
    // missing or unreadable cache: start empty, it is only a cache
  }
  return { version: 1, entries: {} };
}

function sameFiles(a: CacheKeyFile[], b: CacheKeyFile[]): boolean {
  return (
    a.length === b.length &&
    a.every((f, i) => {
      const g = b[i];
      return g !== undefined && f.path === g.path && f.size === g.size && f.mtimeMs === g.mtimeMs;
    })
  );
}

/** The cached piece digests for this folder, or null when any file's path, size or mtime changed. */
export async function cacheLookup(
  cacheFile: string,
  dir: string,
  pieceLength: number,
  files: CacheKeyFile[],
): Promise<Buffer | null> {
  const entry = (await load(cacheFile)).entries[entryKey(dir, pieceLength)];
  if (!entry || entry.pieceLength !== pieceLength || !sameFiles(entry.files, files)) return null;
  return Buffer.from(entry.pieces, 'base64');
}

/** Store the digests; written to a temporary file and renamed so a crash never leaves half a cache. */
export async function cacheStore(
  cacheFile: string,
  dir: string,
  pieceLength: number,
  files: CacheKeyFile[],
  pieces: Buffer,
): Promise<void> {
  const cache = await load(cacheFile);
  cache.entries[entryKey(dir, pieceLength)] = { pieceLength, files, pieces: pieces.toString('base64') };
  await mkdir(dirname(cacheFile), { recursive: true });
  const tmp = `${cacheFile}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(cache));
  await rename(tmp, cacheFile);
}
