import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { bencode, type BValue } from './bencode.js';
import { SeederError, SeederErrorCode, abortError } from './errors.js';
import { cacheLookup, cacheStore, type CacheKeyFile } from './hash-cache.js';
import { hashPieces } from './hash.js';

/** Pieces an image is cut into by default: between half this and this many (see {@link autoPieceLength}). */
export const AUTO_PIECE_COUNT = 512;
/** Smallest automatic piece length (64 KiB). */
export const MIN_AUTO_PIECE_LENGTH = 64 * 1024;
/** Largest automatic piece length (4 MiB): a downloader holds each piece it is fetching in memory. */
export const MAX_AUTO_PIECE_LENGTH = 4 * 1024 * 1024;

/**
 * The default piece length for `totalBytes`: the smallest power of two that cuts it into at most
 * {@link AUTO_PIECE_COUNT} pieces, within 64 KiB–4 MiB (64 MiB → 128 KiB, 1 GiB → 2 MiB).
 *
 * Why by size. A machine can pass a piece on only once it holds all of it, and a fresh piece leaves its
 * first holder for every other machine at once, so each piece takes about machines × piece length ÷
 * link rate to spread, and that much is still in flight when the server is done: the tail of every
 * boot. Smaller pieces shorten it; each piece also costs a HAVE to every peer and a place in the request
 * scheduler, which a few hundred pieces keep small. Measured (docs/performance.md, "## swarm"): 16
 * machines, 64 MiB at 20 Mbit/s, last machine at 41.5 s with 1 MiB pieces, 37.3 s with 256 KiB,
 * 35.0 s with 128 KiB, 37.8 s with 64 KiB.
 */
export function autoPieceLength(totalBytes: number): number {
  const want = 2 ** Math.ceil(Math.log2(Math.max(1, totalBytes / AUTO_PIECE_COUNT)));
  return Math.min(MAX_AUTO_PIECE_LENGTH, Math.max(MIN_AUTO_PIECE_LENGTH, want));
}

/** Options of {@link createTorrent}. */
export interface CreateTorrentOptions {
  /** Torrent name, which is the folder name on the downloading side. @default basename(dir) */
  name?: string;
  /** Piece length in bytes, a power of two of at least 16 KiB, or `'auto'`. @default 'auto' ({@link autoPieceLength}) */
  pieceLength?: number | 'auto';
  /** Tracker announce URLs written into the torrent (`announce` + BEP 12 `announce-list`). @default [] */
  announce?: string[];
  /** BEP 19 web seed URLs written as `url-list`. @default [] */
  urlList?: string[];
  /** JSON hash cache keyed by each file's path, size and mtime; skips rehashing unchanged folders. */
  cacheFile?: string;
  /** Worker threads hashing in parallel. @default os.availableParallelism() */
  threads?: number;
  signal?: AbortSignal;
  /** Called as batches of pieces are hashed (and once at the end, also on a cache hit). */
  onProgress?: (p: { hashedBytes: number; totalBytes: number }) => void;
}

/** A created torrent: the .torrent bytes plus what callers usually need from it. */
export interface CreatedTorrent {
  /** Bencoded .torrent file (BitTorrent v1). */
  torrent: Uint8Array;
  /** SHA-1 of the bencoded info dictionary, lowercase hex. */
  infoHash: string;
  name: string;
  size: number;
  pieceLength: number;
  pieceCount: number;
  /** Files in torrent order, paths relative to the folder with `/` separators. */
  files: { path: string; length: number }[];
  /** True when the piece hashes came from `cacheFile` instead of being computed. */
  fromCache: boolean;
}

interface Found {
  rel: string[];
  abs: string;
  size: number;
  mtimeMs: number;
}

/** Byte-wise order of the `/`-joined relative path: the same on every machine and locale. */
function comparePaths(a: Found, b: Found): number {
  return Buffer.compare(Buffer.from(a.rel.join('/')), Buffer.from(b.rel.join('/')));
}

async function walk(root: string, rel: string[], out: Found[]): Promise<void> {
  const entries = await readdir(join(root, ...rel), { withFileTypes: true });
  for (const e of entries) {
    const abs = join(root, ...rel, e.name);
    if (e.isDirectory()) await walk(root, [...rel, e.name], out);
    else if (e.isFile() || e.isSymbolicLink()) {
      const st = await stat(abs);
      if (st.isFile()) out.push({ rel: [...rel, e.name], abs, size: st.size, mtimeMs: st.mtimeMs });
      else if (st.isDirectory()) await walk(root, [...rel, e.name], out);
    }
  }
}

/**
 * One BitTorrent v1 torrent for one OS folder (v1 only: aria2 fails on hybrid v1/v2 torrents).
 * Deterministic: files sorted byte-wise, always the multi-file form, no creation date, no tool string,
 * so the same bytes give the same info hash on any machine and on a copy of the folder.
 */
export async function createTorrent(dir: string, opts: CreateTorrentOptions = {}): Promise<CreatedTorrent> {
  const root = resolve(dir);
  const asked = opts.pieceLength ?? 'auto';
  if (asked !== 'auto' && (!Number.isInteger(Math.log2(asked)) || asked < 16384)) {
    throw new SeederError(SeederErrorCode.BadOption, `pieceLength ${asked} is not a power of two >= 16384`, {
      hint: "use e.g. 262144, or 'auto'",
    });
  }
  const st = await stat(root).catch((cause: unknown) => {
    throw new SeederError(SeederErrorCode.BadFolder, `${root}: cannot read the OS folder`, { cause });
  });
  if (!st.isDirectory()) throw new SeederError(SeederErrorCode.BadFolder, `${root} is not a folder`);
  const found: Found[] = [];
  await walk(root, [], found);
  found.sort(comparePaths);
  const size = found.reduce((s, f) => s + f.size, 0);
  if (size === 0) throw new SeederError(SeederErrorCode.BadFolder, `${root} holds no file bytes to share`);
  if (opts.signal?.aborted) throw abortError(opts.signal, 'createTorrent');
  const pieceLength = asked === 'auto' ? autoPieceLength(size) : asked;

  const key: CacheKeyFile[] = found.map((f) => ({ path: f.rel.join('/'), size: f.size, mtimeMs: f.mtimeMs }));
  let pieces = opts.cacheFile ? await cacheLookup(opts.cacheFile, root, pieceLength, key) : null;
  const fromCache = pieces !== null;
  if (pieces === null) {
    pieces = await hashPieces(
      found.map((f) => ({ abs: f.abs, length: f.size })),
      {
        pieceLength,
        threads: opts.threads,
        signal: opts.signal,
        onProgress: (hashedBytes) => opts.onProgress?.({ hashedBytes, totalBytes: size }),
      },
    );
    if (opts.cacheFile) await cacheStore(opts.cacheFile, root, pieceLength, key, pieces);
  }
  opts.onProgress?.({ hashedBytes: size, totalBytes: size });

  const name = opts.name ?? basename(root);
  const info: BValue = {
    files: found.map((f) => ({ length: f.size, path: f.rel })),
    name,
    'piece length': pieceLength,
    pieces,
  };
  const announce = opts.announce ?? [];
  const urlList = opts.urlList ?? [];
  const torrent = bencode({
    announce: announce[0],
    'announce-list': announce.length > 1 ? announce.map((a) => [a]) : undefined,
    info,
    'url-list': urlList.length > 0 ? urlList : undefined,
  });
  return {
    torrent,
    infoHash: createHash('sha1').update(bencode(info)).digest('hex'),
    name,
    size,
    pieceLength,
    pieceCount: pieces.length / 20,
    files: key.map((f) => ({ path: f.path, length: f.size })),
    fromCache,
  };
}
