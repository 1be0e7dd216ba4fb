import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { InitrdError, InitrdErrorCode } from './errors.js';

/** One member of a cpio archive. Paths are relative to the archive root ("bin/sh", not "/bin/sh"). */
export interface CpioEntry {
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'chardev';
  /** Permission bits (no type bits). @default 0o644 file, 0o755 dir, 0o777 symlink, 0o600 chardev */
  mode?: number;
  /** File size; read from `source` (stat or length) when omitted. */
  size?: number;
  /** File content: a host path (streamed, never read whole) or bytes. */
  source?: string | Uint8Array;
  /** Symlink target. */
  target?: string;
  /** Character device numbers. */
  major?: number;
  minor?: number;
}

/** Options of {@link writeCpio}. */
export interface CpioWriteOptions {
  /** mtime written for every entry, in seconds since the epoch (reproducible builds). @default 0 */
  mtime?: number;
}

/** The mtime of every entry unless told otherwise: builds from the same inputs are byte-identical. */
export const DEFAULT_CPIO_MTIME = 0;

/** "new ASCII" (newc) magic and file type bits, as in cpio(5) and the kernel's initramfs buffer format. */
export const CpioMode = {
  Magic: '070701',
  S_IFREG: 0o100000,
  S_IFDIR: 0o040000,
  S_IFLNK: 0o120000,
  S_IFCHR: 0o020000,
  S_IFMT: 0o170000,
} as const;

const DEFAULT_MODE = { file: 0o644, dir: 0o755, symlink: 0o777, chardev: 0o600 } as const;
const TYPE_BITS = {
  file: CpioMode.S_IFREG,
  dir: CpioMode.S_IFDIR,
  symlink: CpioMode.S_IFLNK,
  chardev: CpioMode.S_IFCHR,
} as const;
const TRAILER = 'TRAILER!!!';
const ZEROS = Buffer.alloc(4);

/** Normalizes "/bin//sh/" or "./bin/sh" to "bin/sh"; rejects empty paths and ".." components. */
export function normalizeCpioPath(path: string): string {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.length === 0 || parts.includes('..')) {
    throw new InitrdError(InitrdErrorCode.BadEntry, `cpio entry path "${path}" is empty or contains ".."`);
  }
  return parts.join('/');
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

function pad4(n: number): Buffer {
  return ZEROS.subarray(0, (4 - (n % 4)) % 4);
}

interface Header {
  ino: number;
  mode: number;
  nlink: number;
  mtime: number;
  size: number;
  rmajor: number;
  rminor: number;
  name: string;
}

function header(h: Header): Buffer {
  const name = Buffer.from(`${h.name}\0`, 'utf8');
  const fields = [h.ino, h.mode, 0, 0, h.nlink, h.mtime, h.size, 0, 0, h.rmajor, h.rminor, name.length, 0];
  const head = Buffer.from(CpioMode.Magic + fields.map(hex8).join(''), 'ascii');
  return Buffer.concat([head, name, pad4(head.length + name.length)]);
}

interface Prepared {
  entry: CpioEntry;
  path: string;
  size: number;
}

async function prepare(entry: CpioEntry): Promise<Prepared> {
  const path = normalizeCpioPath(entry.path);
  let size = 0;
  if (entry.type === 'file') {
    if (entry.source === undefined) {
      throw new InitrdError(InitrdErrorCode.BadEntry, `cpio entry "${path}" is a file without a source`);
    }
    size =
      entry.size ??
      (typeof entry.source === 'string' ? (await stat(entry.source)).size : entry.source.length);
  } else if (entry.type === 'symlink') {
    if (!entry.target) {
      throw new InitrdError(InitrdErrorCode.BadEntry, `cpio entry "${path}" is a symlink without a target`);
    }
    size = Buffer.byteLength(entry.target);
  }
  return { entry, path, size };
}

/** Byte-wise (C locale) order, as `LC_ALL=C sort` gives: parents always precede their children. */
function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

async function* records(entries: AsyncIterable<CpioEntry> | Iterable<CpioEntry>, mtime: number) {
  const prepared: Prepared[] = [];
  const seen = new Set<string>();
  for await (const entry of entries) {
    const p = await prepare(entry);
    if (seen.has(p.path))
      throw new InitrdError(InitrdErrorCode.BadEntry, `cpio entry "${p.path}" appears twice`);
    seen.add(p.path);
    prepared.push(p);
  }
  prepared.sort((a, b) => compareBytes(a.path, b.path));
  let ino = 0;
  for (const { entry, path, size } of prepared) {
    const mode = TYPE_BITS[entry.type] | ((entry.mode ?? DEFAULT_MODE[entry.type]) & 0o7777);
    const rmajor = entry.type === 'chardev' ? (entry.major ?? 0) : 0;
    const rminor = entry.type === 'chardev' ? (entry.minor ?? 0) : 0;
    const nlink = entry.type === 'dir' ? 2 : 1;
    yield header({ ino: ++ino, mode, nlink, mtime, size, rmajor, rminor, name: path });
    if (entry.type === 'symlink') {
      yield Buffer.from(entry.target ?? '');
    } else if (entry.type === 'file' && typeof entry.source === 'string') {
      let read = 0;
      for await (const chunk of createReadStream(entry.source)) {
        const buf = chunk as Buffer;
        if (read + buf.length > size) throw grew(entry.source, size);
        read += buf.length;
        yield buf;
      }
      if (read !== size) throw grew(entry.source, size);
    } else if (entry.type === 'file' && entry.source instanceof Uint8Array) {
      const src = entry.source;
      if (src.length !== size) {
        throw new InitrdError(InitrdErrorCode.BadEntry, `cpio entry "${path}": size ${size} ≠ ${src.length}`);
      }
      yield Buffer.from(src.buffer, src.byteOffset, src.byteLength);
    }
    const padding = pad4(size);
    if (padding.length > 0) yield padding;
  }
  yield header({ ino: 0, mode: 0, nlink: 1, mtime: 0, size: 0, rmajor: 0, rminor: 0, name: TRAILER });
}

function grew(path: string, size: number): InitrdError {
  return new InitrdError(
    InitrdErrorCode.BadEntry,
    `${path} changed size while being archived (expected ${size})`,
  );
}

/**
 * Streams a cpio "newc" archive (the kernel's initramfs format): entries sorted by path, uid/gid 0,
 * a fixed mtime, 4-byte padding, `TRAILER!!!`. File contents are streamed from disk, so an OS-sized
 * file never sits in memory. The same entries give byte-identical output.
 */
export function writeCpio(
  entries: AsyncIterable<CpioEntry> | Iterable<CpioEntry>,
  options: CpioWriteOptions = {},
): Readable {
  return Readable.from(records(entries, options.mtime ?? DEFAULT_CPIO_MTIME), { objectMode: false });
}
