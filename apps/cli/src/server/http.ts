import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename } from 'node:path';
import { clientStatusSchema, normalizeMac } from '@boottorrent/config';
import { ipxeScript } from '@boottorrent/pxe';
import type { ClientTable } from './clients.js';

export interface HttpServerOptions {
  host: string;
  port: number;
  /** Base URL the clients use, e.g. http://10.77.0.1:8080 */
  baseUrl: string;
  phase1: { kernel: string; initrds: string[] };
  /** Kernel command line for phase-1 (bt.server=… is added). */
  cmdline: string;
  /** Files served under /webseed/<os>/<path>: exactly the torrents' files, nothing else. */
  webSeedFiles: Map<string, string>;
  clients: ClientTable;
  onRequest?: (e: { method: string; path: string; status: number; bytes: number; remote: string }) => void;
}

export interface HttpServer {
  port: number;
  /** Bytes sent by the web seed (BEP 19), for the server-vs-peer split. */
  webSeedBytes(): number;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const MAX_STATUS_BODY = 64 * 1024;
const MAC_PATH = /^\/api\/v1\/clients\/([0-9a-fA-F]{2}(?:[:-][0-9a-fA-F]{2}){5})\/status$/;

/**
 * The server's HTTP side: the iPXE boot script (per client, by MAC), phase-1's kernel and initrds,
 * the web seed, and the client status API. Serves only the files it was given, with Range support.
 */
export async function startHttpServer(o: HttpServerOptions): Promise<HttpServer> {
  const phase1 = new Map<string, string>();
  for (const p of [o.phase1.kernel, ...o.phase1.initrds]) phase1.set(basename(p), p);
  let webSeedBytes = 0;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = decodeURIComponent(url.pathname);
    const remote = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    };

    if (req.method === 'POST') {
      const m = MAC_PATH.exec(path);
      if (!m) return send(404, 'not found\n');
      const body = await readBody(req, MAX_STATUS_BODY);
      if (body === null) return send(413, `status body over ${MAX_STATUS_BODY} bytes\n`);
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        return send(400, 'status body is not JSON\n');
      }
      const parsed = clientStatusSchema.safeParse(json);
      if (!parsed.success) {
        const i = parsed.error.issues[0]!;
        return send(400, `status ${i.path.join('.') || 'body'}: ${i.message}\n`);
      }
      o.clients.report(normalizeMac(m[1]!), { ...parsed.data, ip: parsed.data.ip ?? remote });
      res.writeHead(204).end();
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD, POST');
      return send(405, 'method not allowed\n');
    }
    if (path === '/boot.ipxe') {
      const mac = url.searchParams.get('mac');
      if (!mac) {
        // Identify the machine first: iPXE fills in its MAC and fetches the per-client script.
        return send(200, `#!ipxe\nchain ${o.baseUrl}/boot.ipxe?mac=\${netX/mac}\n`);
      }
      if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(mac)) return send(400, 'bad mac\n');
      o.clients.observe(normalizeMac(mac), { phase: 'loader', ip: remote, firmware: undefined }, 'boot.ipxe');
      const script = ipxeScript({
        kernel: `${o.baseUrl}/phase1/${basename(o.phase1.kernel)}`,
        initrds: o.phase1.initrds.map((p) => `${o.baseUrl}/phase1/${basename(p)}`),
        cmdline: o.cmdline,
      });
      return send(200, script);
    }
    if (path === '/api/v1/clients')
      return send(200, JSON.stringify(o.clients.list()) + '\n', 'application/json');
    if (path.startsWith('/phase1/')) {
      const file = phase1.get(path.slice('/phase1/'.length));
      if (!file) return send(404, 'not found\n');
      return sendFile(req, res, file);
    }
    if (path.startsWith('/webseed/')) {
      const file = o.webSeedFiles.get(path.slice('/webseed/'.length));
      if (!file) return send(404, 'not found\n');
      webSeedBytes += await sendFile(req, res, file);
      return;
    }
    send(404, 'not found\n');
  };

  const server: Server = createServer((req, res) => {
    res.on('finish', () =>
      o.onRequest?.({
        method: req.method ?? '',
        path: req.url ?? '',
        status: res.statusCode,
        bytes: Number(res.getHeader('content-length') ?? 0),
        remote: (req.socket.remoteAddress ?? '').replace(/^::ffff:/, ''),
      }),
    );
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end('internal error\n');
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', () => {});
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }));
  return {
    port: (server.address() as AddressInfo).port,
    webSeedBytes: () => webSeedBytes,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Sends a file with single-range support (RFC 9110 §14); returns the body bytes sent. */
async function sendFile(req: IncomingMessage, res: ServerResponse, file: string): Promise<number> {
  const size = (await stat(file)).size;
  let start = 0;
  let end = size - 1;
  const range = req.headers.range;
  if (range) {
    const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
    if (!m || (m[1] === '' && m[2] === '')) {
      res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
      return 0;
    }
    if (m[1] === '') start = Math.max(0, size - Number(m[2]));
    else {
      start = Number(m[1]);
      if (m[2] !== '') end = Math.min(end, Number(m[2]));
    }
    if (start > end || start >= size) {
      res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
      return 0;
    }
  }
  const length = size === 0 ? 0 : end - start + 1;
  const headers: Record<string, string | number> = {
    'content-type': 'application/octet-stream',
    'content-length': length,
    'accept-ranges': 'bytes',
  };
  if (range) headers['content-range'] = `bytes ${start}-${end}/${size}`;
  res.writeHead(range ? 206 : 200, headers);
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

function readBody(req: IncomingMessage, max: number): Promise<string | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        resolve(null);
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(null));
  });
}
