import type { IncomingMessage, ServerResponse } from 'node:http';
import { basename } from 'node:path';
import { normalizeMac, type ClientPhase } from '@boottorrent/config';
import type { Phase1Runtime } from '@boottorrent/initrd-builder';
import type { ClientTable } from './clients.js';
import type { ServerEvent } from './events.js';
import { readBody, type HttpRequestEvent, type HttpRoute, type RouteContext } from './http.js';
import { oneLine } from './line.js';
import { sendFile } from './range.js';
import {
  ArrivalGate,
  DEFAULT_LOADER_SLOTS,
  RuntimeScheduler,
  type RuntimeFailure,
  type RuntimeSchedulerOptions,
  type RuntimeStats,
} from './scheduler.js';

/** Path prefix of the runtime URL (`/runtime/<file>`), the one phase-1's /init gets as `bt.runtime=`. */
export const RUNTIME_URL_PATH = '/runtime/';

const MAC = /^[0-9a-f]{2}([:-][0-9a-f]{2}){5}$/i;
const FAILURES: readonly RuntimeFailure[] = ['hash', 'stall', 'error'];
const BUSY_WITH_OS: ReadonlySet<ClientPhase> = new Set(['downloading', 'seeding']);

/** Options of {@link runtimeService}. */
export interface RuntimeServiceOptions extends RuntimeSchedulerOptions {
  /** The built runtime; null (a zstd phase-1) serves nothing. */
  runtime: Phase1Runtime | null;
  /**
   * The boot loader's files (name → path), served first come, first served through `loaderSlots`
   * (see {@link ArrivalGate}); without them, or with 0 slots, the built-in /phase1/ route serves them.
   */
  loaderFiles?: ReadonlyMap<string, string>;
  /** 0: no gate. @default DEFAULT_LOADER_SLOTS */
  loaderSlots?: number;
  clients: ClientTable;
  emit(e: ServerEvent): void;
}

/** What GET /api/v1/runtime answers. */
export interface RuntimeReport {
  name: string | null;
  sha256: string | null;
  size: number;
  serverSlots: number;
  peerSlots: number;
  /** Bytes the server sent for phase-1: what the boot loader loads, and the runtime itself. */
  phase1Bytes: { loader: number; runtime: number };
  stats: RuntimeStats;
  holders: { mac: string; address: string; busy: number; served: number }[];
}

/** The runtime's routes and counters, plugged into the HTTP server by wireHttp. */
export interface RuntimeService {
  routes: HttpRoute[];
  /** Feed every answered request: /phase1/* responses count as the server's phase-1 bytes. */
  onRequest(e: HttpRequestEvent): void;
  report(): RuntimeReport;
  scheduler: RuntimeScheduler;
  /**
   * Phase-1 through the gate, live: `busy` while a boot loader file or a runtime copy is being sent
   * by the server or queued for it; `bytes` sent by those responses so far (in-flight ones too).
   */
  live(): { busy: boolean; bytes: number };
}

/**
 * Phase-1's runtime over HTTP: `GET /runtime/<file>?mac=<mac>[&failed=hash|stall|error]` is answered
 * by the server itself, by a 302 to a peer that holds the file, or by 503 + Retry-After (every
 * source busy); `POST /api/v1/runtime/<mac>/have` (body `port=<n>`) says a client checked the file's
 * hash and serves it; `GET /api/v1/runtime` reports holders and byte counters. Holders are forgotten
 * when their machine moves on to load its OS or boots again.
 */
export function runtimeService(o: RuntimeServiceOptions): RuntimeService {
  const scheduler = new RuntimeScheduler({
    ...o,
    // A holder whose agent downloads or seeds the OS: BitTorrent shares its uplink.
    holderBusy: o.holderBusy ?? ((mac) => BUSY_WITH_OS.has(o.clients.get(mac)?.phase ?? 'phase1')),
  });
  const name = o.runtime ? basename(o.runtime.path) : null;
  const bytes = { loader: 0, runtime: 0 };
  o.clients.on('change', (info, why) => {
    if (why === 'boot.ipxe' || info.phase === 'loading' || info.phase === 'booted') {
      const held = scheduler.holders().some((h) => h.mac === info.mac);
      // A waiter that booted again starts over too: its place in the queue and its holder slot go.
      scheduler.forget(info.mac);
      if (held) o.emit({ type: 'runtime', action: 'left', mac: info.mac });
    }
  });

  const gate = new ArrivalGate(o.loaderSlots ?? DEFAULT_LOADER_SLOTS);
  // Live byte count of what goes through the gate: finished responses plus the in-flight ones.
  let gatedDone = 0;
  const gatedLive = new Map<ServerResponse, { socket: IncomingMessage['socket']; before: number }>();
  const track = (req: IncomingMessage, res: ServerResponse): (() => void) => {
    const entry = { socket: req.socket, before: req.socket.bytesWritten };
    gatedLive.set(res, entry);
    return () => {
      if (!gatedLive.delete(res)) return;
      gatedDone += entry.socket.bytesWritten - entry.before;
    };
  };
  const fetch = async (req: IncomingMessage, res: ServerResponse, ctx: RouteContext) => {
    if (!o.runtime || ctx.params[0] !== name) return ctx.send(404, `not found: ${oneLine(ctx.path)}\n`);
    const rawMac = ctx.url.searchParams.get('mac');
    if (rawMac !== null && !MAC.test(rawMac))
      return ctx.send(400, `bad mac "${oneLine(rawMac, 40)}": expected e.g. 52:54:00:12:34:56\n`);
    const failedRaw = ctx.url.searchParams.get('failed');
    const failed = FAILURES.find((f) => f === failedRaw);
    if (failedRaw !== null && !failed)
      return ctx.send(400, `bad failed "${oneLine(failedRaw, 20)}": expected hash, stall or error\n`);
    // Without a MAC (curl by hand) the address stands in for the machine.
    const who = rawMac ? normalizeMac(rawMac) : `ip:${ctx.remote}`;
    const pick = scheduler.pick(who, failed);
    if (failed) o.emit({ type: 'runtime', action: 'failed', mac: who, failed });
    if (pick.kind === 'wait') {
      res.setHeader('retry-after', String(pick.retryAfterS));
      return ctx.send(503, 'every runtime source is busy; ask again in a second\n');
    }
    if (pick.kind === 'peer') {
      const url = `http://${pick.holder.ip}:${pick.holder.port}/${name}`;
      o.emit({ type: 'runtime', action: 'redirect', mac: who, peer: pick.holder.mac });
      res.writeHead(302, { location: url, 'content-length': 0 }).end();
      return;
    }
    o.emit({ type: 'runtime', action: 'server', mac: who });
    const socket = req.socket;
    const before = socket.bytesWritten;
    // With the loader gate, a runtime copy goes ahead of every boot loader file: it makes a source.
    const gone = new AbortController();
    res.on('close', () => gone.abort());
    const release = await gate.acquire(ctx.remote, gone.signal, true).catch(() => null);
    const untrack = track(req, res);
    try {
      if (release) await sendFile(req, res, o.runtime.path);
    } finally {
      untrack();
      release?.();
      bytes.runtime += socket.bytesWritten - before;
      // A whole copy: a GET whose last byte went to the socket (not a client that left), answered
      // 200, or 206 up to the file's end (a client resuming what a peer that stalled had sent).
      const range = /-(\d+)\/(\d+)$/.exec(String(res.getHeader('content-range')));
      const toEnd = res.statusCode === 200 || (!!range && Number(range[1]) + 1 === Number(range[2]));
      scheduler.serverDone(who, req.method === 'GET' && toEnd && res.writableFinished);
    }
  };

  const have = async (req: IncomingMessage, res: ServerResponse, ctx: RouteContext) => {
    const mac = ctx.params[0]!;
    if (!MAC.test(mac)) return ctx.send(400, `bad MAC "${oneLine(mac, 40)}": expected six hex pairs\n`);
    const body = await readBody(req, 256);
    if (body === 'aborted') return;
    const port = Number(/(?:^|&)port=(\d+)/.exec(body === 'too-large' ? '' : body)?.[1]);
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      return ctx.send(400, 'have: the body must be port=<1-65535>\n');
    const m = normalizeMac(mac);
    const source = scheduler.have(m, ctx.remote, port);
    const holder = source === 'server' ? undefined : o.clients.get(source);
    const from = source === 'server' ? 'server' : `${holder?.ip ?? '?'} (${source})`;
    o.clients.observe(m, { ip: ctx.remote, runtimeSource: from }, 'runtime');
    o.emit({ type: 'runtime', action: 'have', mac: m, source: from });
    res.writeHead(204).end();
  };

  const loader = async (req: IncomingMessage, res: ServerResponse, ctx: RouteContext) => {
    const file = o.loaderFiles?.get(ctx.params[0]!);
    if (!file) return ctx.send(404, `not found: ${oneLine(ctx.path)}\n`);
    const gone = new AbortController();
    res.on('close', () => gone.abort());
    const release = await gate.acquire(ctx.remote, gone.signal).catch(() => null);
    if (!release) return;
    const untrack = track(req, res);
    try {
      await sendFile(req, res, file);
    } finally {
      untrack();
      release();
    }
  };

  const report = (): RuntimeReport => ({
    name,
    sha256: o.runtime?.sha256 ?? null,
    size: o.runtime?.size ?? 0,
    serverSlots: scheduler.serverSlots,
    peerSlots: scheduler.peerSlots,
    phase1Bytes: { ...bytes },
    stats: scheduler.stats(),
    holders: scheduler
      .holders()
      .map((h) => ({ mac: h.mac, address: `${h.ip}:${h.port}`, busy: h.busy, served: h.served })),
  });

  return {
    scheduler,
    live() {
      let bytes = gatedDone;
      for (const e of gatedLive.values()) bytes += e.socket.bytesWritten - e.before;
      return { busy: gate.inUse > 0 || gatedLive.size > 0, bytes };
    },
    routes: [
      ...(o.loaderFiles && gate.slots > 0
        ? [{ method: 'GET' as const, path: /^\/phase1\/([^/]+)$/, handle: loader }]
        : []),
      { method: 'GET', path: /^\/runtime\/([^/]+)$/, handle: fetch },
      { method: 'POST', path: /^\/api\/v1\/runtime\/([^/]+)\/have$/, handle: have },
      {
        method: 'GET',
        path: /^\/api\/v1\/runtime$/,
        handle: (_req, _res, ctx) => ctx.send(200, JSON.stringify(report()) + '\n', 'application/json'),
      },
    ],
    onRequest(e) {
      if (e.path.startsWith('/phase1/') && (e.status === 200 || e.status === 206)) bytes.loader += e.bytes;
    },
    report,
  };
}
