/**
 * Root jail: maps a requested file name onto a path inside the root, or refuses it. Follows tftpd-hpa's
 * `-s` behaviour where it is safe (absolute names map inside the root, `\` becomes `/` because PXE ROMs
 * and Windows clients send it) and refuses what it cannot prove harmless: `..`, NUL and control bytes,
 * invalid UTF-8, overlong names, and symlinks that resolve outside the root.
 */
import { constants as fsc } from 'node:fs';
import { open, realpath, type FileHandle } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { ErrorCode } from './constants.js';

export type JailResult =
  | { ok: true; path: string }
  | { ok: false; code: typeof ErrorCode.FileNotFound | typeof ErrorCode.AccessViolation; reason: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Normalizes a request's file name (latin1-decoded wire bytes) to a relative POSIX path such as
 * `pxelinux.cfg/default`, or refuses it. Pure: touches no file system.
 */
export function normalizeRequestPath(filename: string, maxLength: number): JailResult {
  const refuse = (reason: string): JailResult => ({ ok: false, code: ErrorCode.AccessViolation, reason });
  if (filename.length > maxLength) return refuse(`file name longer than ${maxLength} bytes`);
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(filename)) return refuse('control character in file name');
  let name: string;
  try {
    name = utf8.decode(Buffer.from(filename, 'latin1'));
  } catch {
    return refuse('file name is not valid UTF-8');
  }
  const segments: string[] = [];
  for (const segment of name.replaceAll('\\', '/').split('/')) {
    if (segment === '' || segment === '.') continue; // leading '/' maps inside the root, like tftpd-hpa -s
    if (segment === '..') return refuse('".." in file name');
    segments.push(segment);
  }
  if (segments.length === 0) return { ok: false, code: ErrorCode.FileNotFound, reason: 'empty file name' };
  return { ok: true, path: segments.join('/') };
}

export type OpenResult =
  | { ok: true; handle: FileHandle; size: number; realPath: string }
  | { ok: false; code: typeof ErrorCode.FileNotFound | typeof ErrorCode.AccessViolation; reason: string };

/**
 * Opens `relative` under `realRoot` (which must itself be a realpath) for reading. The final path is
 * resolved with realpath and must stay under the root; it is then opened with O_NOFOLLOW and
 * O_NONBLOCK (so a FIFO cannot stall the server) and must be a regular file.
 */
export async function openInRoot(realRoot: string, relative: string): Promise<OpenResult> {
  let real: string;
  try {
    real = await realpath(join(realRoot, relative));
  } catch (err) {
    return fsRefusal(err);
  }
  const prefix = realRoot.endsWith(sep) ? realRoot : realRoot + sep;
  if (!real.startsWith(prefix)) {
    return { ok: false, code: ErrorCode.AccessViolation, reason: 'resolves outside the root (symlink)' };
  }
  let handle: FileHandle;
  try {
    handle = await open(real, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK);
  } catch (err) {
    return fsRefusal(err);
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) {
      await handle.close();
      return { ok: false, code: ErrorCode.FileNotFound, reason: 'not a regular file' };
    }
    return { ok: true, handle, size: st.size, realPath: real };
  } catch (err) {
    await handle.close().catch(() => undefined);
    return fsRefusal(err);
  }
}

function fsRefusal(err: unknown): OpenResult & { ok: false } {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM' || code === 'ELOOP') {
    return { ok: false, code: ErrorCode.AccessViolation, reason: `access denied (${code})` };
  }
  return { ok: false, code: ErrorCode.FileNotFound, reason: `file not found (${code ?? 'error'})` };
}
