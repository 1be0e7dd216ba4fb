import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** A byte range to send, both ends inclusive. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Reads a `Range` header against a file of `size` bytes (RFC 9110 §14.1.2, §14.2):
 * - `null`: serve the whole file (no header, a unit other than bytes, or several ranges — a server
 *   may ignore Range, and one 200 beats a multipart body no boot client asks for);
 * - `'unsatisfiable'`: answer 416 (a malformed bytes spec, or a range that starts past the end);
 * - a range clamped to the file (`bytes=-N` is the last N bytes).
 */
export function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | null {
  if (header === undefined) return null;
  const h = header.trim();
  const eq = h.indexOf('=');
  if (eq < 0 || h.slice(0, eq).trim().toLowerCase() !== 'bytes') return null;
  const spec = h.slice(eq + 1).trim();
  if (spec.includes(',')) return null;
  const m = /^(\d*)-(\d*)$/.exec(spec);
  if (!m || (m[1] === '' && m[2] === '')) return 'unsatisfiable';
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(size - 1, Number(m[2]));
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}

/**
 * Sends a file with single-range support, HEAD included; returns the body bytes that reached the
 * client (0 when it went away early), for the server-vs-peer byte split.
 */
export async function sendFile(req: IncomingMessage, res: ServerResponse, file: string): Promise<number> {
  const size = (await stat(file)).size;
  const range = parseRange(req.headers.range, size);
  if (range === 'unsatisfiable') {
    res.writeHead(416, { 'content-range': `bytes */${size}`, 'content-length': 0 }).end();
    return 0;
  }
  const { start, end } = range ?? { start: 0, end: size - 1 };
  const length = size === 0 ? 0 : end - start + 1;
  const headers: Record<string, string | number> = {
    'content-type': 'application/octet-stream',
    'content-length': length,
    'accept-ranges': 'bytes',
  };
  if (range) headers['content-range'] = `bytes ${start}-${end}/${size}`;
  // setHeader, not writeHead(status, headers): the request log reads content-length back on finish.
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.writeHead(range ? 206 : 200);
  if (req.method === 'HEAD' || length === 0) {
    res.end();
    return 0;
  }
  await new Promise<void>((resolve) => {
    const s = createReadStream(file, { start, end, highWaterMark: 1 << 20 });
    s.on('error', () => {
      res.destroy();
      resolve();
    });
    res.on('close', () => {
      s.destroy();
      resolve();
    });
    s.pipe(res);
  });
  return res.writableFinished ? length : 0;
}
