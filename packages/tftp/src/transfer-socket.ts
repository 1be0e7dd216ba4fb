/**
 * The socket of one transfer: bound to the server's address on an ephemeral port and connected to the
 * client (RFC 1350 §4: the kernel drops datagrams from any other address or port; sends need no route
 * lookup). Two implementations with one behaviour: node:dgram, and the native wire (native/wire.c),
 * which skips node:dgram's per-datagram allocations (see README, "Native wire").
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { TftpClient } from './events.js';
import type { NativeWireAddon } from './native-wire.js';

/** Which datagram path a transfer uses. */
export type WireKind = 'native' | 'dgram';

/** Receive buffer of the native wire. Peers send ACKs (4 bytes) and ERRORs; longer datagrams are cut. */
export const NATIVE_RX_BYTES = 2048;

export interface TransferSocket {
  readonly wire: WireKind;
  /** Local address and port (after connect: the source address the kernel picked). */
  readonly local: { address: string; port: number };
  /**
   * Sets the receivers. `msg` is only valid during the call (the native wire reuses one buffer); its
   * first `length` bytes are the datagram. `onError` gets socket errors (ECONNREFUSED: ICMP port
   * unreachable, the client is gone), never synchronously from `send`.
   */
  listen(
    onMessage: (msg: Buffer, length: number) => void,
    onError: (err: NodeJS.ErrnoException) => void,
  ): void;
  send(packet: Buffer): void;
  /** Idempotent; resolves when the socket is closed. No receiver is called after it. */
  close(): Promise<void>;
}

const ignore = () => undefined;

/** Opens a transfer socket towards `client` from `localAddress` (the server's bind address). */
export async function openTransferSocket(
  wire: WireKind,
  localAddress: string,
  client: TftpClient,
  addon?: NativeWireAddon,
): Promise<TransferSocket> {
  if (wire === 'native') return openNative(addon!, localAddress, client);
  return openDgram(localAddress, client);
}

function errnoError(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code} (native wire)`), { code });
}

function openNative(addon: NativeWireAddon, localAddress: string, client: TftpClient): TransferSocket {
  let onMessage: (msg: Buffer, length: number) => void = ignore;
  let onError: (err: NodeJS.ErrnoException) => void = ignore;
  let closed = false;
  const handle = addon.open(
    localAddress,
    client.address,
    client.port,
    NATIVE_RX_BYTES,
    (length) => onMessage(handle.rx, length),
    (code) => onError(errnoError(code)),
  );
  return {
    wire: 'native',
    local: { address: handle.address, port: handle.port },
    listen(m, e) {
      onMessage = m;
      onError = e;
    },
    send(packet) {
      const code = addon.send(handle, packet);
      if (code !== undefined) process.nextTick(() => closed || onError(errnoError(code)));
    },
    close() {
      closed = true;
      addon.close(handle);
      return Promise.resolve();
    },
  };
}

async function openDgram(localAddress: string, client: TftpClient): Promise<TransferSocket> {
  const socket: Socket = createSocket({ type: isIPv6(client.address) ? 'udp6' : 'udp4' });
  socket.on('error', ignore); // replaced by listen(); bind errors reject below
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address: localAddress, port: 0, exclusive: true }, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    await new Promise<void>((resolve, reject) => {
      socket.connect(client.port, client.address, (err?: Error) => (err ? reject(err) : resolve()));
    });
  } catch (err) {
    try {
      socket.close();
    } catch {
      // never bound
    }
    throw err;
  }
  const a = socket.address();
  let closing: Promise<void> | undefined;
  return {
    wire: 'dgram',
    local: { address: a.address, port: a.port },
    listen(onMessage, onError) {
      socket.removeAllListeners('error');
      socket.on('message', (msg) => onMessage(msg, msg.length));
      socket.on('error', onError);
    },
    send(packet) {
      socket.send(packet);
    },
    close() {
      return (closing ??= new Promise<void>((resolve) => {
        socket.removeAllListeners('message');
        try {
          socket.close(() => resolve());
        } catch {
          resolve(); // already closed
        }
      }));
    },
  };
}
