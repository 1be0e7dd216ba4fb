/**
 * The DHCP server: full server mode or proxyDHCP, bound to one interface. Lifecycle only; the
 * protocol logic is in handler.ts.
 */
import type { RemoteInfo, Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { PxeError, PxeErrorCode } from './errors.js';
import type { DhcpServerEvents, DhcpStats } from './events.js';
import { DhcpHandler, type Via } from './handler.js';
import { ipToNumber } from './ip.js';
import { LeaseStore, type Lease } from './lease-store.js';
import { resolveOptions, type DhcpServerOptions, type ResolvedOptions } from './server-options.js';
import { closeSocket, lookupInterface, openInterfaceSocket } from './transport.js';

/** How long close() waits for answers in progress (e.g. an async planFor) before it gives up on them. */
const CLOSE_GRACE_MS = 1000;

/**
 * A running DHCP server, from {@link startDhcpServer}. Events (typed): `lease`, `boot`, `dropped`,
 * `ignored`; none fires after `close()`.
 */
export interface DhcpServer extends EventEmitter<DhcpServerEvents> {
  /** The interface served. */
  readonly interface: string;
  /** Our address on it. */
  readonly serverAddress: string;
  /** `server` or `proxy`. */
  readonly mode: 'server' | 'proxy';
  /** Leases known to the server (server mode; empty in proxy mode). */
  leases(): Lease[];
  /** Packet counters since start. */
  stats(): DhcpStats;
  /** Stops answering, closes the sockets and waits for the last lease write. Idempotent. */
  close(): Promise<void>;
  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

class Server extends EventEmitter<DhcpServerEvents> implements DhcpServer {
  /** The interface served. */
  readonly interface: string;
  /** Our address on it. */
  readonly serverAddress: string;
  /** `server` or `proxy`. */
  readonly mode: 'server' | 'proxy';
  private readonly sockets: Socket[] = [];
  private readonly pending = new Set<Promise<void>>();
  private closing: Promise<void> | null = null;
  private readonly handler: DhcpHandler;
  private abortCleanup: (() => void) | null = null;

  constructor(
    private readonly o: ResolvedOptions,
    private readonly store: LeaseStore | null,
  ) {
    super();
    this.interface = o.iface.name;
    this.serverAddress = o.serverAddress;
    this.mode = o.mode;
    this.handler = new DhcpHandler(o, store, {
      send: (buf, address, port, via) => this.send(buf, address, port, via),
      closed: () => this.closing !== null,
      emit: (event, ...args) => {
        if (this.closing === null) (this.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args);
      },
    });
  }

  /**
   * @internal Opens the sockets; if a later bind fails, the earlier sockets are closed before the
   * error is thrown (STYLE.md §16; written out by hand because Node 22 lacks AsyncDisposableStack).
   */
  async listen(signal: AbortSignal | undefined): Promise<void> {
    const open = async (port: number, via: Via): Promise<void> => {
      const sock = await openInterfaceSocket({
        iface: this.o.iface,
        port,
        onMessage: (msg: Buffer, from: RemoteInfo) => this.onMessage(msg, from, via),
        onError: (err: Error) => this.o.logger.error?.('dhcp: socket error', { port, error: err.message }),
      });
      this.sockets.push(sock);
    };
    try {
      await open(this.o.port, 'dhcp');
      if (this.o.mode === 'proxy') await open(this.o.proxyPort, 'proxy');
    } catch (e) {
      await Promise.all(this.sockets.map(closeSocket));
      this.sockets.length = 0;
      throw e;
    }
    if (signal) {
      const onAbort = (): void => void this.close();
      signal.addEventListener('abort', onAbort, { once: true });
      this.abortCleanup = () => signal.removeEventListener('abort', onAbort);
    }
    this.o.logger.info?.('dhcp: listening', {
      interface: this.interface,
      address: this.serverAddress,
      mode: this.mode,
    });
  }

  private onMessage(msg: Buffer, from: RemoteInfo, via: Via): void {
    if (this.closing !== null) return;
    const p = this.handler.handle(msg, from, via);
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private send(buf: Buffer, address: string, port: number, via: Via): void {
    const sock = this.sockets[via === 'proxy' ? 1 : 0];
    if (!sock || this.closing !== null) return;
    sock.send(buf, port, address, (err) => {
      if (err) this.o.logger.warn?.('dhcp: send failed', { to: `${address}:${port}`, error: err.message });
    });
  }

  /** Leases known to the server (server mode; empty in proxy mode). */
  leases(): Lease[] {
    return this.store?.list() ?? [];
  }

  /** Packet counters since start. */
  stats(): DhcpStats {
    const s = this.handler.stats;
    return { ...s, droppedByReason: { ...s.droppedByReason } };
  }

  /** Stops answering, closes the sockets and waits for the last lease write. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.abortCleanup?.();
      await Promise.all(this.sockets.map(closeSocket));
      // Answers still waiting on a slow planFor are abandoned (they check `closed`); do not let a
      // planFor that never settles hold close() forever.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.pending]),
        new Promise((r) => (timer = setTimeout(r, CLOSE_GRACE_MS))),
      ]);
      clearTimeout(timer);
      await this.store
        ?.save()
        .catch((e: unknown) =>
          this.o.logger.error?.('dhcp: final lease write failed', { error: (e as Error).message }),
        );
    })();
    return this.closing;
  }

  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Starts a DHCP server (full or proxy) on one interface. Fails with `PXE_INTERFACE_NOT_FOUND`,
 * `PXE_ADDRESS_NOT_ON_INTERFACE`, `PXE_BAD_OPTION`, `PXE_LEASE_FILE`, `PXE_BIND` or `PXE_ABORTED`.
 */
export async function startDhcpServer(opts: DhcpServerOptions): Promise<DhcpServer> {
  if (opts.signal?.aborted) {
    throw new PxeError(PxeErrorCode.Aborted, `dhcp on ${opts.interface}: signal already aborted`, {
      cause: opts.signal.reason,
    });
  }
  const iface = lookupInterface(opts.interface, opts.serverAddress);
  const o = resolveOptions(opts, iface);
  let store: LeaseStore | null = null;
  if (o.pool) {
    store = new LeaseStore({
      start: o.pool.start,
      end: o.pool.end,
      relayPools: o.subnets.map((s) => s.pool),
      exclude: [ipToNumber(o.serverAddress)],
      reservations: o.reservations,
      leaseTimeMs: o.leaseTime * 1000,
      ...(o.leaseFile !== undefined ? { file: o.leaseFile } : {}),
    });
    await store.load();
  }
  const server = new Server(o, store);
  try {
    await server.listen(opts.signal);
  } catch (e) {
    throw e instanceof PxeError ? e : new PxeError(PxeErrorCode.Bind, (e as Error).message, { cause: e });
  }
  if (opts.signal?.aborted) await server.close();
  return server;
}
