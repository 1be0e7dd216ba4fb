/**
 * The server: a listening socket for requests and, per transfer, a socket on an ephemeral port
 * connected to the client (RFC 1350 §4), so the kernel drops datagrams from any other address or
 * port and replies need no per-packet route lookup.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { realpathSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { CHUNK_POOL_BYTES, ErrorCode, ErrorCodeName, Opcode, OpcodeName } from './constants.js';
import { TftpError, TftpErrorCode } from './errors.js';
import type { RefusedEvent, TftpClient, TftpServerEvents, TftpServerStats } from './events.js';
import { blockSizeForMtu, interfaceMtu } from './mtu.js';
import { loadNativeWire, NATIVE_WIRE_HINT, type NativeWireAddon } from './native-wire.js';
import { negotiate } from './options.js';
import { decodePacket, encodeError, encodeOack, type RequestPacket } from './packet.js';
import { openSource, type SourceContext } from './request.js';
import { resolveOptions, type ResolvedOptions, type TftpServerOptions } from './server-options.js';
import { runTransfer, type RunningTransfer } from './session.js';
import { ChunkPool } from './source.js';
import { openTransferSocket, type TransferSocket, type WireKind } from './transfer-socket.js';

/** A running server. Obtain one with {@link startTftpServer}. */
export class TftpServer extends EventEmitter<TftpServerEvents> {
  /** Where the server listens (the real port when `port: 0` was asked). */
  readonly address: { address: string; port: number };
  private readonly counters: Omit<TftpServerStats, 'active'> = {
    started: 0,
    completed: 0,
    failed: 0,
    refused: 0,
    dropped: 0,
    bytesSent: 0,
  };
  /** Transfers by client `address:port`, including those still opening their file. */
  private readonly transfers = new Map<string, RunningTransfer | 'opening'>();
  private nextId = 1;
  private closing: Promise<void> | undefined;
  private readonly ctx: SourceContext;
  /** Chunk buffers of ended transfers, reused by the next ones (see ChunkPool). */
  private readonly pool = new ChunkPool(CHUNK_POOL_BYTES);

  /** @internal use {@link startTftpServer} */
  constructor(
    private readonly socket: Socket,
    private readonly opts: ResolvedOptions,
    /** Datagram path of the transfer sockets, as resolved from the `wire` option. */
    private readonly wire: WireKind,
    private readonly addon: NativeWireAddon | undefined,
  ) {
    super();
    const a = socket.address();
    this.address = { address: a.address, port: a.port };
    this.ctx = { realRoot: realpathSync(opts.root), maxPathLength: opts.maxPathLength, files: opts.files };
    socket.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
    socket.on('error', (err) => opts.logger?.warn?.('tftp: listening socket error', { error: err.message }));
  }

  /** Counters since start. */
  stats(): TftpServerStats {
    let active = 0;
    for (const t of this.transfers.values()) if (t !== 'opening') active++;
    return { active, ...this.counters };
  }

  /** Stops listening and ends every transfer (the peers get ERROR 0). Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const closed = new Promise<void>((resolve) => this.socket.close(() => resolve()));
      const ends: Promise<void>[] = [];
      for (const t of this.transfers.values()) {
        if (t !== 'opening') ends.push(t.stop(new TftpError(TftpErrorCode.Closed, 'server shutting down')));
      }
      await Promise.all([closed, ...ends]);
      this.pool.close();
      this.removeAllListeners();
    })();
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    if (this.closing) return;
    const client: TftpClient = { address: rinfo.address, port: rinfo.port };
    let packet;
    try {
      packet = decodePacket(msg);
    } catch (err) {
      // Unknown opcode or a truncated request: tell the peer once, never throw (STYLE 10).
      this.refuse(client, ErrorCode.IllegalOperation, (err as Error).message);
      return;
    }
    if (packet.op === Opcode.WRQ) {
      this.refuse(client, ErrorCode.AccessViolation, 'write requests are refused: read-only server', packet);
      return;
    }
    if (packet.op !== Opcode.RRQ) {
      // DATA/ACK/ERROR/OACK belong on a transfer port; answering an ERROR could loop two servers.
      this.drop(client, `${OpcodeName[packet.op]} on the request port`);
      return;
    }
    void this.onRead(packet, client).catch((err: unknown) => {
      this.opts.logger?.error?.('tftp: request failed', { client, error: String(err) });
    });
  }

  private async onRead(req: RequestPacket, client: TftpClient): Promise<void> {
    const key = `${client.address}:${client.port}`;
    if (this.transfers.has(key)) return this.drop(client, 'duplicate request (transfer already running)');
    if (req.mode !== 'octet' && req.mode !== 'netascii') {
      return this.refuse(
        client,
        ErrorCode.IllegalOperation,
        `transfer mode "${req.mode}" is not supported`,
        req,
      );
    }
    if (this.transfers.size >= this.opts.maxTransfers) {
      return this.refuse(
        client,
        ErrorCode.NotDefined,
        `server busy: ${this.opts.maxTransfers} transfers running`,
        req,
      );
    }
    this.transfers.set(key, 'opening');
    let opened;
    try {
      opened = await openSource(req.filename, req.mode, client, this.ctx);
    } catch (err) {
      opened = { ok: false as const, code: ErrorCode.NotDefined, reason: `cannot open: ${String(err)}` };
    }
    if (!opened.ok) {
      this.transfers.delete(key);
      return this.refuse(client, opened.code, opened.reason, req);
    }
    const source = opened.source;
    if (this.closing) {
      this.transfers.delete(key);
      await source.close();
      return;
    }
    let socket: TransferSocket;
    try {
      socket = await openTransferSocket(this.wire, this.address.address, client, this.addon);
    } catch (err) {
      this.transfers.delete(key);
      await source.close();
      return this.refuse(client, ErrorCode.NotDefined, `cannot open a transfer socket: ${String(err)}`, req);
    }
    const ipv6 = isIPv6(socket.local.address);
    const mtu = this.opts.clampBlockSizeToMtu ? interfaceMtu(socket.local.address) : undefined;
    const maxBlockSize = Math.min(this.opts.maxBlockSize, mtu ? blockSizeForMtu(mtu, ipv6) : Infinity);
    const neg = negotiate(req.options, {
      maxBlockSize,
      maxWindowSize: this.opts.maxWindowSize,
      windowBufferBytes: this.opts.windowBufferBytes,
      ipv6,
      size: source.size,
    });
    if (this.closing) {
      this.transfers.delete(key);
      await Promise.all([source.close(), socket.close()]);
      return;
    }
    const running = runTransfer({
      id: this.nextId++,
      client,
      socket,
      source,
      mode: req.mode,
      negotiated: neg,
      oack: neg.oack.length > 0 ? encodeOack(neg.oack) : undefined,
      timeoutMs: neg.timeoutMs ?? this.opts.timeoutMs,
      retries: this.opts.retries,
      pool: this.pool,
      onEnd: (ev, error) => {
        this.transfers.delete(key);
        this.counters.bytesSent += ev.bytes;
        if (error) {
          this.counters.failed++;
          this.opts.logger?.warn?.('tftp: transfer failed', { client, file: ev.file, error: error.message });
          this.emit('transfer-error', { ...ev, error });
        } else {
          this.counters.completed++;
          this.opts.logger?.info?.('tftp: sent', {
            client,
            file: ev.file,
            bytes: ev.bytes,
            ms: ev.durationMs,
          });
          this.emit('transfer-end', ev);
        }
      },
    });
    this.transfers.set(key, running);
    this.counters.started++;
    this.opts.logger?.debug?.('tftp: transfer start', {
      client,
      file: source.file,
      options: running.info.options,
    });
    this.emit('transfer-start', running.info);
    running.start();
  }

  private refuse(client: TftpClient, errorCode: number, reason: string, req?: RequestPacket): void {
    if (this.closing) return; // no event after close()
    this.counters.refused++;
    const file = req?.filename.replace(/[^\x20-\x7e]/g, '?').slice(0, 300);
    const ev: RefusedEvent = { client, errorCode, reason, ...(file !== undefined ? { file } : {}) };
    this.opts.logger?.warn?.(`tftp: refused (${ErrorCodeName[errorCode]}): ${reason}`, { ...ev });
    try {
      this.socket.send(encodeError(errorCode, reason), client.port, client.address);
    } catch {
      // the listening socket is closing
    }
    this.emit('refused', ev);
  }

  private drop(client: TftpClient, reason: string): void {
    this.counters.dropped++;
    this.opts.logger?.debug?.(`tftp: dropped: ${reason}`, { client });
  }
}

/** How to fix a failed bind, from the errno. */
function bindHint(err: NodeJS.ErrnoException): string {
  if (err.code === 'EADDRINUSE')
    return 'another server holds the port: stop it or pick another port (0 = any)';
  if (err.code === 'EACCES')
    return 'ports below 1024 need root or CAP_NET_BIND_SERVICE; or pick a port above 1023';
  if (err.code === 'EADDRNOTAVAIL') return 'the host is not an address of this machine: pick one it has';
  return '';
}

/** Binds the request socket and starts serving `opts.root`. Rejects with `TFTP_BIND`, `TFTP_BAD_OPTION` or `TFTP_ABORTED`. */
export async function startTftpServer(opts: TftpServerOptions): Promise<TftpServer> {
  const resolved = resolveOptions(opts);
  if (resolved.signal?.aborted) {
    throw new TftpError(TftpErrorCode.Aborted, 'tftp: signal already aborted', {
      cause: resolved.signal.reason,
    });
  }
  let wire: WireKind = 'dgram';
  let addon: NativeWireAddon | undefined;
  if (resolved.wire !== 'dgram') {
    const native = loadNativeWire();
    if ('addon' in native) [wire, addon] = ['native', native.addon];
    else if (resolved.wire === 'native') {
      throw new TftpError(TftpErrorCode.BadOption, `tftp wire 'native': ${native.error}`, {
        hint: NATIVE_WIRE_HINT,
      });
    } else resolved.logger?.debug?.(`tftp: using node:dgram: ${native.error}`);
  }
  const socket = createSocket({ type: isIPv6(resolved.host) ? 'udp6' : 'udp4' });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) =>
      reject(
        new TftpError(
          TftpErrorCode.Bind,
          `tftp: cannot bind ${resolved.host}:${resolved.port}: ${err.message}`,
          { cause: err, hint: bindHint(err) },
        ),
      );
    socket.once('error', onError);
    socket.bind({ address: resolved.host, port: resolved.port, exclusive: true }, () => {
      socket.off('error', onError);
      resolve();
    });
  }).catch((err: unknown) => {
    socket.close();
    throw err;
  });
  const server = new TftpServer(socket, resolved, wire, addon);
  resolved.signal?.addEventListener('abort', () => void server.close(), { once: true });
  return server;
}
