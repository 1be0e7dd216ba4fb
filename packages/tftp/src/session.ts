/**
 * Glue for one running transfer: the connected socket, the byte source, the {@link Transfer} state
 * machine and the event record. Guarantees one `onEnd` and that the socket and source are closed.
 */
import { performance } from 'node:perf_hooks';
import { TftpError, TftpErrorCode } from './errors.js';
import type { TftpClient, TransferEndEvent, TransferStartEvent } from './events.js';
import type { NegotiatedOptions } from './options.js';
import type { OpenedSource } from './request.js';
import { BlockStore, type ChunkPool } from './source.js';
import { Transfer } from './transfer.js';
import type { TransferSocket } from './transfer-socket.js';

export interface SessionInit {
  id: number;
  client: TftpClient;
  socket: TransferSocket;
  source: OpenedSource;
  mode: 'octet' | 'netascii';
  negotiated: NegotiatedOptions;
  oack: Buffer | undefined;
  timeoutMs: number;
  retries: number;
  /** The server's idle chunk buffers: the transfer takes from it and gives back when it is over. */
  pool?: ChunkPool;
  onEnd(ev: TransferEndEvent, error: TftpError | undefined): void;
}

export interface RunningTransfer {
  info: TransferStartEvent;
  start(): void;
  /** Aborts with ERROR 0 to the peer and resolves when the socket and source are closed. */
  stop(error: TftpError): Promise<void>;
}

export function runTransfer(init: SessionInit): RunningTransfer {
  const { socket, source, negotiated: neg } = init;
  const info: TransferStartEvent = {
    id: init.id,
    client: init.client,
    file: source.file,
    mode: init.mode,
    size: source.size,
    virtual: source.virtual,
    wire: socket.wire,
    options: {
      blksize: neg.blksize,
      windowsize: neg.windowsize,
      timeoutMs: init.timeoutMs,
      ...(neg.tsize !== undefined ? { tsize: neg.tsize } : {}),
    },
  };
  const store = new BlockStore(source.filler, source.size, neg.blksize, neg.windowsize, init.pool);
  let startedAt = 0;
  let released: Promise<void> | undefined;
  // A file is closed only when no read of it is in flight: its descriptor, closed under a read, could
  // be reused by the next open() and that read would fill the chunk from another file. A stream is
  // closed at once: that is what ends a read waiting on it. The store's buffers are pooled only once
  // the socket is closed (node:dgram may still hold a send) and no read is writing into them.
  const closeSource = () =>
    source.filler.positional ? store.settled().then(() => source.close()) : source.close();
  const release = () =>
    (released ??= Promise.all([socket.close(), closeSource()]).then(() => store.dispose()));

  const transfer = new Transfer({
    wire: { send: (packet) => socket.send(packet) },
    store,
    oack: init.oack,
    windowsize: neg.windowsize,
    timeoutMs: init.timeoutMs,
    adaptiveTimeout: neg.timeoutMs === undefined, // a negotiated timeout (RFC 2349) is honoured as is
    retries: init.retries,
    onDone: (error) => {
      const bytes = Math.min(source.size, transfer.acked * neg.blksize);
      const ev: TransferEndEvent = {
        ...info,
        bytes,
        durationMs: Math.round((performance.now() - startedAt) * 10) / 10,
        packets: transfer.packetsSent,
        retransmits: transfer.retransmits,
      };
      void release();
      init.onEnd(ev, error);
    },
  });

  socket.listen(
    (msg, length) => transfer.handle(msg, length),
    (err) => {
      // ECONNREFUSED: ICMP port unreachable, the client is gone. Anything else: also fatal for this one.
      transfer.abort(
        new TftpError(TftpErrorCode.PeerError, `transfer socket: ${err.code ?? err.message}`, { cause: err }),
        undefined,
      );
    },
  );

  return {
    info,
    start() {
      startedAt = performance.now();
      transfer.start();
    },
    stop(error) {
      transfer.abort(error);
      return release();
    },
  };
}
