/**
 * From a decoded read request to a byte source: jail check, virtual provider, then the root. Returns
 * a refusal (TFTP error code + reason) instead of throwing for anything a peer can cause.
 */
import { Readable } from 'node:stream';
import { ErrorCode } from './constants.js';
import { normalizeRequestPath, openInRoot } from './jail.js';
import type { TftpClient } from './events.js';
import type { VirtualFileProvider } from './server-options.js';
import { fdFiller, netasciiSize, streamFiller, toNetascii, type Filler } from './source.js';

export interface OpenedSource {
  /** Path relative to the root, as served. */
  file: string;
  size: number;
  virtual: boolean;
  filler: Filler;
  /** Releases the descriptor or stream. Idempotent. */
  close(): Promise<void>;
}

export type SourceResult =
  { ok: true; source: OpenedSource } | { ok: false; code: number; reason: string; file?: string };

export interface SourceContext {
  realRoot: string;
  maxPathLength: number;
  files: VirtualFileProvider | undefined;
}

/** Resolves `filename` (wire bytes as latin1) in `mode` for `client`. */
export async function openSource(
  filename: string,
  mode: 'octet' | 'netascii',
  client: TftpClient,
  ctx: SourceContext,
): Promise<SourceResult> {
  const norm = normalizeRequestPath(filename, ctx.maxPathLength);
  if (!norm.ok) return norm;
  const file = norm.path;
  if (ctx.files) {
    let found: Awaited<ReturnType<VirtualFileProvider>>;
    try {
      found = await ctx.files(file, { address: client.address, port: client.port });
    } catch (err) {
      return {
        ok: false,
        code: ErrorCode.NotDefined,
        reason: `virtual file provider failed: ${String(err)}`,
        file,
      };
    }
    if (found) {
      if (!Number.isSafeInteger(found.size) || found.size < 0) {
        return {
          ok: false,
          code: ErrorCode.NotDefined,
          reason: `virtual file size ${found.size} is invalid`,
          file,
        };
      }
      return { ok: true, source: await streamSource(file, found.size, found.stream, mode, true) };
    }
  }
  const opened = await openInRoot(ctx.realRoot, file);
  if (!opened.ok) return { ...opened, file };
  const { handle } = opened;
  if (mode === 'octet') {
    let closed: Promise<void> | undefined;
    return {
      ok: true,
      source: {
        file,
        size: opened.size,
        virtual: false,
        filler: fdFiller(handle.fd),
        close: () => (closed ??= handle.close().catch(() => undefined)),
      },
    };
  }
  const make = () =>
    handle.createReadStream({ start: 0, end: Math.max(0, opened.size - 1), autoClose: false });
  const source = await streamSource(file, opened.size, make, mode, false);
  const closeStream = source.close;
  let closed: Promise<void> | undefined;
  source.close = () => (closed ??= closeStream().then(() => handle.close().catch(() => undefined)));
  return { ok: true, source };
}

async function streamSource(
  file: string,
  size: number,
  make: () => Readable,
  mode: 'octet' | 'netascii',
  virtual: boolean,
): Promise<OpenedSource> {
  let sent = size;
  if (mode === 'netascii') sent = size === 0 ? 0 : await netasciiSize(limit(make(), size));
  let stream: Readable | undefined;
  let filler: Filler | undefined;
  return {
    file,
    size: sent,
    virtual,
    filler: (views, position) => {
      if (!filler) {
        stream = make();
        filler = streamFiller(limit(stream, size), mode === 'netascii' ? toNetascii : undefined);
      }
      return filler(views, position);
    },
    close: async () => {
      stream?.destroy();
    },
  };
}

/** Yields at most `size` bytes of `stream` (a provider's stream may run long; its size is the contract). */
function limit(stream: Readable, size: number): Readable {
  let left = size;
  const cut = async function* (src: AsyncIterable<Buffer | string>) {
    for await (const chunk of src) {
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (b.length >= left) {
        if (left > 0) yield b.subarray(0, left);
        left = 0;
        return;
      }
      left -= b.length;
      yield b;
    }
  };
  return Readable.from(cut(stream as AsyncIterable<Buffer | string>), { objectMode: false });
}
