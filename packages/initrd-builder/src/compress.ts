import { spawn } from 'node:child_process';
import { PassThrough, pipeline, type Readable } from 'node:stream';
import { constants, createGzip, createZstdCompress } from 'node:zlib';
import { InitrdError, InitrdErrorCode } from './errors.js';

/** Compressors the Linux kernel's initramfs unpacker accepts (CONFIG_RD_GZIP / RD_ZSTD / RD_XZ). */
export type Compression = 'gzip' | 'zstd' | 'xz' | 'none';

/** Options of {@link compress}. */
export interface CompressOptions {
  /** Compression level (xz: the LZMA2 preset). @default DEFAULT_LEVEL[kind] */
  level?: number;
  /**
   * xz only: the x86 branch filter (x64 hosts). The kernel's decoder has it; busybox's unxz does not,
   * so what phase-1's /init unpacks itself (the runtime) is built without it. @default true
   */
  x86Filter?: boolean;
}

/**
 * Default levels: gzip -9 and zstd -19 (the default 8 MiB window the kernel's decoder handles);
 * xz preset 6 with the x86 BCJ filter (preset 9e saves another 0.5 MB on Node for 2.7x the time).
 */
export const DEFAULT_LEVEL = { gzip: 9, zstd: 19, xz: 6 } as const;

function xz(stream: Readable, level: number, x86Filter: boolean): Readable {
  // The kernel's XZ decoder checks CRC32 only (crc64, xz's default, makes unpacking fail), and
  // handles the x86 branch filter (CONFIG_XZ_DEC_X86), which shrinks executables by ~3%.
  const filters = process.arch === 'x64' && x86Filter ? ['--x86', `--lzma2=preset=${level}`] : [`-${level}`];
  const child = spawn('xz', ['--check=crc32', ...filters, '-T0', '-c'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const out = child.stdout;
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.once('error', (cause) =>
    out.destroy(
      new InitrdError(InitrdErrorCode.ToolFailed, 'cannot run xz', {
        cause,
        hint: 'apt-get install xz-utils',
      }),
    ),
  );
  child.once('exit', (code) => {
    if (code !== 0)
      out.destroy(new InitrdError(InitrdErrorCode.ToolFailed, `xz failed: ${stderr.trim() || code}`));
  });
  pipeline(stream, child.stdin, (err) => {
    if (err) {
      child.kill();
      out.destroy(err);
    }
  });
  return out;
}

/**
 * Compresses a stream for the kernel: gzip (RFC 1952, mtime 0 so output is reproducible), zstd
 * (RFC 8878, with content checksum), both from node:zlib, or xz through the host's `xz` (node:zlib has
 * no LZMA). `none` passes bytes through. Errors of `stream` surface on the returned stream.
 */
export function compress(stream: Readable, kind: Compression, options: CompressOptions = {}): Readable {
  const noop = () => {};
  if (kind === 'none') return pipeline(stream, new PassThrough(), noop);
  if (kind === 'gzip') {
    return pipeline(stream, createGzip({ level: options.level ?? DEFAULT_LEVEL.gzip }), noop);
  }
  if (kind === 'xz') return xz(stream, options.level ?? DEFAULT_LEVEL.xz, options.x86Filter ?? true);
  const zstd = createZstdCompress({
    params: {
      [constants.ZSTD_c_compressionLevel]: options.level ?? DEFAULT_LEVEL.zstd,
      [constants.ZSTD_c_checksumFlag]: 1,
    },
  });
  return pipeline(stream, zstd, noop);
}
