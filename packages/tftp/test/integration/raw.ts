/** A raw UDP peer for tests that need to misbehave: send any bytes, read whatever comes back. */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';

export interface RawPeer {
  socket: Socket;
  send(bytes: Buffer, port: number): Promise<void>;
  /** Next datagram (or undefined after `ms`). */
  next(ms?: number): Promise<{ msg: Buffer; rinfo: RemoteInfo } | undefined>;
  close(): void;
}

export async function rawPeer(): Promise<RawPeer> {
  const socket = createSocket('udp4');
  const queue: { msg: Buffer; rinfo: RemoteInfo }[] = [];
  let waiter: (() => void) | undefined;
  socket.on('message', (msg, rinfo) => {
    queue.push({ msg, rinfo });
    waiter?.();
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    socket,
    send: (bytes, port) => new Promise((resolve) => socket.send(bytes, port, '127.0.0.1', () => resolve())),
    async next(ms = 2000) {
      if (queue.length === 0) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, ms);
          waiter = () => {
            clearTimeout(t);
            resolve();
          };
        });
        waiter = undefined;
      }
      return queue.shift();
    },
    close: () => socket.close(),
  };
}
