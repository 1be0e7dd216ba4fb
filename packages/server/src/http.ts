import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename } from 'node:path';
import { clientStatusSchema, normalizeMac, type ClientStatusAnswer } from '@boottorrent/config';
import { ipxeScript } from '@boottorrent/pxe';
import type { ClientTable } from './clients.js';
import { oneLine } from './line.js';
import { findNicModulesArchive, nicModulesRoute, nicModulesUrl } from './nic-route.js';
import { sendFile } from './range.js';

/** Options of {@link startHttpServer}. */
export interface HttpServerOptions {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** Base URL the clients use, e.g. http://10.77.0.1:8080 */
  baseUrl: string;
  phase1: { kernel: string; initrds: string[] };
  /**
   * Phase-1's full NIC modules archive (one of `phase1.initrds`): the boot script then asks for the
   * boot NIC's modules only (see nic-route.ts). null: every machine loads the full set.
   * @default the initrd named `modules.cpio.<ext>`, if any
   */
  nicModules?: string | null;
  /** Kernel command line for phase-1. */
  cmdline: string;
  /** Files served under /webseed/<os>/<path>: exactly the torrents' files, nothing else. */
  webSeedFiles: ReadonlyMap<string, string>;
  clients: ClientTable;
  /** More routes (dashboard, metrics, machine control…), tried before the built-in ones. */
  routes?: readonly HttpRoute[];
  /** Words added to the command line of one machine's boot script (its `machines:` plan). */
  cmdlineFor?: (mac: string) => string;
  /**
   * The gate for agents' status POSTs (machines have no token): null admits the report, otherwise
   * the status and one line to answer with (rate limit, source not leased to that MAC). With a gate,
   * the reported address is the source address, not what the body claims.
   */
  statusGuard?: (mac: string, remote: string) => { status: number; line: string } | null;
  onRequest?: (e: HttpRequestEvent) => void;
}

/** What a route's handler gets besides the request and response. */
export interface RouteContext {
  url: URL;
  /** The percent-decoded path. */
  path: string;
  /** The path pattern's capture groups. */
  params: string[];
  /** The client's address (IPv4-mapped addresses unwrapped). */
  remote: string;
  /** Answers with a text body (none for HEAD) and its length. */
  send(status: number, body: string, type?: string): void;
}

/** One extra HTTP route: a method, a pattern on the decoded path, and a handler. */
export interface HttpRoute {
  /** GET routes also answer HEAD. */
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: RegExp;
  handle(req: IncomingMessage, res: ServerResponse, ctx: RouteContext): void | Promise<void>;
}

/** One answered request, for the live view and logs. */
export interface HttpRequestEvent {
  method: string;
  path: string;
  status: number;
  bytes: number;
  remote: string;
}

/** The running HTTP side of the boot server. */
export interface HttpServer {
  port: number;
  /** Bytes sent by the web seed (BEP 19), for the server-vs-peer split. */
  webSeedBytes(): number;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Largest status report an agent may POST. @default 64 KiB */
export const MAX_STATUS_BODY = 64 * 1024;
const MAC = /^[0-9a-f]{2}([:-][0-9a-f]{2}){5}$/i;
const CLIENT_ROUTE = /^\/api\/v1\/clients\/([^/]+)(\/status)?$/;

/**
 * The server's HTTP side: the iPXE boot script (per client, by MAC), phase-1's kernel and initrds
 * with Range, the web seed, and the client status API (a seeding agent's POST is answered with
 * how many machines still wait for its OS, `ClientStatusAnswer`). Serves only the files it was given. Bad
 * requests get a 4xx with one line saying what was wrong; nothing a client sends can throw out.
 */
export async function startHttpServer(o: HttpServerOptions): Promise<HttpServer> {
  const phase1 = new Map<string, string>();
  for (const p of [o.phase1.kernel, ...o.phase1.initrds]) phase1.set(basename(p), p);
  const nicArchive = o.nicModules === undefined ? findNicModulesArchive(o.phase1.initrds) : o.nicModules;
  const routes = [...(nicArchive ? [nicModulesRoute({ archive: nicArchive })] : []), ...(o.routes ?? [])];
  let webSeedBytes = 0;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const remote = remoteOf(req);
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      // setHeader, not writeHead(status, headers): the request log reads content-length back on finish.
      res.setHeader('content-type', type);
      res.setHeader('content-length', Buffer.byteLength(body));
      res.writeHead(status);
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    let url: URL;
    let path: string;
    try {
      url = new URL(req.url ?? '/', 'http://x');
      path = decodeURIComponent(url.pathname);
    } catch {
      return send(400, 'bad request path: not a valid URL path\n');
    }
    for (const r of routes) {
      const m = r.path.exec(path);
      if (!m || (r.method !== req.method && !(r.method === 'GET' && req.method === 'HEAD'))) continue;
      return r.handle(req, res, { url, path, params: m.slice(1), remote, send });
    }
    const elsewhere = routes.filter((r) => r.path.test(path)).map((r) => r.method);
    if (elsewhere.length) {
      // The path is an extra route's, but not for this method.
      res.setHeader('allow', [...new Set(elsewhere)].join(', '));
      return send(405, `method ${req.method} not allowed on ${oneLine(path)}\n`);
    }
    const client = CLIENT_ROUTE.exec(path);
    if (client && !MAC.test(client[1]!)) {
      return send(
        400,
        `bad MAC "${oneLine(client[1]!, 40)}": expected six hex pairs, e.g. 52:54:00:12:34:56\n`,
      );
    }

    if (req.method === 'POST') {
      if (!client?.[2]) return send(404, `no POST route ${oneLine(path)}\n`);
      const refused = o.statusGuard?.(normalizeMac(client[1]!), remote);
      if (refused) return send(refused.status, refused.line);
      const body = await readBody(req, MAX_STATUS_BODY);
      if (body === 'too-large') {
        res.setHeader('connection', 'close');
        return send(413, `status body over ${MAX_STATUS_BODY} bytes\n`);
      }
      if (body === 'aborted') return;
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
      const ip = o.statusGuard ? remote : (parsed.data.ip ?? remote);
      const mac = normalizeMac(client[1]!);
      o.clients.report(mac, { ...parsed.data, ip });
      // A seeding agent learns how many machines still wait for its OS: at 0 it may stop seeding.
      const { phase, os } = parsed.data;
      if (phase === 'seeding' && os) {
        const answer: ClientStatusAnswer = { waiting: o.clients.waitingFor(os, mac) };
        return send(200, JSON.stringify(answer) + '\n', 'application/json');
      }
      res.writeHead(204).end();
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD, POST');
      return send(405, `method ${req.method} not allowed\n`);
    }
    if (path === '/boot.ipxe') {
      const mac = url.searchParams.get('mac');
      if (mac === null) {
        // Identify the machine first: iPXE fills in its MAC and fetches the per-client script.
        return send(200, `#!ipxe\nchain ${o.baseUrl}/boot.ipxe?mac=\${netX/mac}\n`);
      }
      if (!MAC.test(mac))
        return send(400, `bad mac "${oneLine(mac, 40)}": expected e.g. 52:54:00:12:34:56\n`);
      o.clients.observe(normalizeMac(mac), { phase: 'loader', ip: remote }, 'boot.ipxe');
      const script = ipxeScript({
        kernel: `${o.baseUrl}/phase1/${basename(o.phase1.kernel)}`,
        initrds: o.phase1.initrds.map((p) =>
          p === nicArchive ? nicModulesUrl(o.baseUrl, p) : `${o.baseUrl}/phase1/${basename(p)}`,
        ),
        cmdline: [o.cmdline, o.cmdlineFor?.(normalizeMac(mac)) ?? ''].filter(Boolean).join(' '),
      });
      return send(200, script);
    }
    if (path === '/api/v1/clients')
      return send(200, JSON.stringify(o.clients.list()) + '\n', 'application/json');
    if (client && !client[2]) {
      const info = o.clients.get(normalizeMac(client[1]!));
      if (!info) return send(404, `no client ${normalizeMac(client[1]!)} seen yet\n`);
      return send(200, JSON.stringify(info) + '\n', 'application/json');
    }
    if (path.startsWith('/phase1/')) {
      const file = phase1.get(path.slice('/phase1/'.length));
      if (!file) return send(404, `not found: ${oneLine(path)}\n`);
      await sendFile(req, res, file);
      return;
    }
    if (path.startsWith('/webseed/')) {
      const file = o.webSeedFiles.get(path.slice('/webseed/'.length));
      if (!file) return send(404, `not found: ${oneLine(path)}\n`);
      webSeedBytes += await sendFile(req, res, file);
      return;
    }
    send(404, `not found: ${oneLine(path)}\n`);
  };

  const server: Server = createServer((req, res) => {
    res.on('finish', () =>
      o.onRequest?.({
        method: req.method ?? '',
        path: req.url ?? '',
        status: res.statusCode,
        bytes: req.method === 'HEAD' ? 0 : Number(res.getHeader('content-length') ?? 0),
        remote: remoteOf(req),
      }),
    );
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end('internal error\n');
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
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

function remoteOf(req: IncomingMessage): string {
  return (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
}

/** The request body as text, or why it was not read (over `max` bytes, or the client went away). */
export function readBody(req: IncomingMessage, max: number): Promise<string | 'too-large' | 'aborted'> {
  return new Promise((resolve) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > max) {
      req.resume();
      resolve('too-large');
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        req.removeAllListeners('data');
        req.resume();
        resolve('too-large');
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve('aborted'));
  });
}
