import { crc32, inflateRawSync, zstdDecompressSync } from 'node:zlib';
import { CpioMode } from './cpio.js';
import { InitrdError, InitrdErrorCode } from './errors.js';

/** One member read back from an archive (for tests and `boottorrent` diagnostics). */
export interface CpioRecord {
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'chardev' | 'other';
  /** Permission bits without the type bits. */
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  size: number;
  /** File content (files) or target bytes (symlinks). */
  data: Uint8Array;
  target?: string;
  major: number;
  minor: number;
}

const HEADER_LEN = 110;

function bad(message: string): InitrdError {
  return new InitrdError(InitrdErrorCode.BadArchive, message);
}

function typeOf(mode: number): CpioRecord['type'] {
  switch (mode & CpioMode.S_IFMT) {
    case CpioMode.S_IFREG:
      return 'file';
    case CpioMode.S_IFDIR:
      return 'dir';
    case CpioMode.S_IFLNK:
      return 'symlink';
    case CpioMode.S_IFCHR:
      return 'chardev';
    default:
      return 'other';
  }
}

const align4 = (n: number) => (n + 3) & ~3;

/**
 * Parses uncompressed newc archives, several in a row as the kernel accepts them (zero padding
 * between archives is skipped). Returns every member except the trailers.
 */
export function readCpio(bytes: Uint8Array): CpioRecord[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: CpioRecord[] = [];
  let off = 0;
  while (off < buf.length) {
    if (buf[off] === 0) {
      off++;
      continue;
    }
    if (off + HEADER_LEN > buf.length) throw bad(`truncated cpio header at byte ${off}`);
    const magic = buf.toString('ascii', off, off + 6);
    if (magic !== CpioMode.Magic) throw bad(`bad cpio magic "${magic}" at byte ${off}`);
    const field = (i: number) => parseInt(buf.toString('ascii', off + 6 + i * 8, off + 14 + i * 8), 16);
    const mode = field(1);
    const size = field(6);
    const nameSize = field(11);
    const nameStart = off + HEADER_LEN;
    const path = buf.toString('utf8', nameStart, nameStart + nameSize - 1);
    const dataStart = align4(nameStart + nameSize);
    if (dataStart + size > buf.length) throw bad(`truncated cpio data of "${path}" at byte ${off}`);
    const data = buf.subarray(dataStart, dataStart + size);
    const type = typeOf(mode);
    const record: CpioRecord = {
      path,
      type,
      mode: mode & 0o7777,
      uid: field(2),
      gid: field(3),
      mtime: field(5),
      size,
      data,
      ...(type === 'symlink' ? { target: data.toString('utf8') } : {}),
      major: field(9),
      minor: field(10),
    };
    off = align4(dataStart + size);
    if (path !== 'TRAILER!!!') out.push(record);
  }
  return out;
}

/** Decompresses one gzip member (RFC 1952) at the start of `buf`; returns its bytes and length. */
function gunzipMember(buf: Buffer): { data: Buffer; used: number } {
  const flags = buf[3] ?? 0;
  let off = 10;
  if (flags & 4) off += 2 + buf.readUInt16LE(off);
  if (flags & 8) off = buf.indexOf(0, off) + 1;
  if (flags & 16) off = buf.indexOf(0, off) + 1;
  if (flags & 2) off += 2;
  const { buffer, engine } = inflateRawSync(buf.subarray(off), { info: true }) as unknown as {
    buffer: Buffer;
    engine: { bytesWritten: number };
  };
  const end = off + engine.bytesWritten;
  if (end + 8 > buf.length || buf.readUInt32LE(end) !== crc32(buffer)) throw bad('gzip member CRC mismatch');
  return { data: buffer, used: end + 8 };
}

function unzstdFrame(buf: Buffer): { data: Buffer; used: number } {
  const { buffer, engine } = zstdDecompressSync(buf, { info: true }) as unknown as {
    buffer: Buffer;
    engine: { bytesWritten: number };
  };
  return { data: buffer, used: engine.bytesWritten };
}

/**
 * Reads an initrd as the kernel does: a sequence of uncompressed, gzip or zstd compressed cpio
 * archives, concatenated. Returns all members in order.
 */
export function readInitrd(bytes: Uint8Array): CpioRecord[] {
  let buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const parts: Buffer[] = [];
  while (buf.length > 0) {
    if (buf[0] === 0) {
      buf = buf.subarray(1);
    } else if (buf[0] === 0x1f && buf[1] === 0x8b) {
      const { data, used } = gunzipMember(buf);
      parts.push(data);
      buf = buf.subarray(used);
    } else if (buf.readUInt32LE(0) === 0xfd2fb528) {
      const { data, used } = unzstdFrame(buf);
      parts.push(data);
      buf = buf.subarray(used);
    } else if (buf.readUInt32BE(0) === 0xfd377a58) {
      throw bad('xz segment: node:zlib has no LZMA; decompress it with `xz -dc` and read the result');
    } else if (buf.toString('ascii', 0, 6) === CpioMode.Magic) {
      // An uncompressed archive runs to its trailer; find where it ends by parsing it.
      const end = endOfCpio(buf);
      parts.push(buf.subarray(0, end));
      buf = buf.subarray(end);
    } else {
      throw bad(`unknown initrd segment magic ${buf.subarray(0, 4).toString('hex')}`);
    }
  }
  return parts.flatMap((p) => readCpio(p));
}

function endOfCpio(buf: Buffer): number {
  let off = 0;
  for (;;) {
    if (off + HEADER_LEN > buf.length) throw bad('uncompressed cpio archive has no trailer');
    const field = (i: number) => parseInt(buf.toString('ascii', off + 6 + i * 8, off + 14 + i * 8), 16);
    const nameSize = field(11);
    const name = buf.toString('utf8', off + HEADER_LEN, off + HEADER_LEN + nameSize - 1);
    off = align4(align4(off + HEADER_LEN + nameSize) + field(6));
    if (name === 'TRAILER!!!') return off;
  }
}
