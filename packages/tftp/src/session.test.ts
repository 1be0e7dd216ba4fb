import { describe, expect, it } from 'vitest';
import { TftpError, TftpErrorCode } from './errors.js';
import { runTransfer } from './session.js';
import type { Filler } from './source.js';
import type { TransferSocket } from './transfer-socket.js';

const settle = () => new Promise((r) => setImmediate(r));

describe('runTransfer', () => {
  it('closes the source only when no read of it is in flight, then pools the buffers', async () => {
    // A file (positional reads) of four 512 KiB chunks, whose reads the test completes by hand.
    const reads: { resolve: (n: number) => void; bytes: number }[] = [];
    const fill: Filler = (views) =>
      new Promise<number>((resolve) =>
        reads.push({ resolve, bytes: views.reduce((n, v) => n + v.length, 0) }),
      );
    fill.positional = true;
    const events: string[] = [];
    const sent: Buffer[] = [];
    let deliver: (msg: Buffer, length: number) => void = () => undefined;
    const socket: TransferSocket = {
      wire: 'native',
      local: { address: '127.0.0.1', port: 40000 },
      listen: (onMessage) => (deliver = onMessage),
      send: (packet) => sent.push(Buffer.from(packet)),
      close: async () => void events.push('socket closed'),
    };
    const size = 4 * 1024 * 512;
    const ended: (TftpError | undefined)[] = [];
    const running = runTransfer({
      id: 1,
      client: { address: '127.0.0.1', port: 50000 },
      socket,
      source: {
        file: 'f',
        size,
        virtual: false,
        filler: fill,
        close: async () =>
          void events.push(`source closed, ${reads.filter((r) => r.bytes).length} reads open`),
      },
      mode: 'octet',
      negotiated: { blksize: 512, windowsize: 1, timeoutMs: undefined, tsize: undefined, oack: [] },
      oack: undefined,
      timeoutMs: 1000,
      retries: 5,
      onEnd: (_ev, error) => ended.push(error),
    });
    running.start();
    await settle();
    reads[0]!.resolve(reads[0]!.bytes);
    reads[0]!.bytes = 0;
    await settle();
    expect(sent).toHaveLength(1); // DATA 1; sending from chunk 0 started the read of chunk 1
    deliver(Buffer.from([0, 4, 0, 1]), 4);
    await settle();
    expect(reads).toHaveLength(2);

    const stopped = running.stop(new TftpError(TftpErrorCode.Closed, 'server closing'));
    await settle();
    expect(ended).toHaveLength(1);
    expect(events).toEqual(['socket closed']); // chunk 1's read still writes through the descriptor
    reads[1]!.resolve(reads[1]!.bytes);
    reads[1]!.bytes = 0;
    await stopped;
    expect(events).toEqual(['socket closed', 'source closed, 0 reads open']);
  });

  it('closes a stream at once, which ends a read that waits on it', async () => {
    // A virtual stream that never delivers: the read waits until the stream is closed.
    let endRead: (n: number) => void = () => undefined;
    const fill: Filler = () => new Promise<number>((resolve) => (endRead = resolve));
    const events: string[] = [];
    const running = runTransfer({
      id: 2,
      client: { address: '127.0.0.1', port: 50000 },
      socket: {
        wire: 'native',
        local: { address: '127.0.0.1', port: 40001 },
        listen: () => undefined,
        send: () => undefined,
        close: async () => void events.push('socket closed'),
      },
      source: {
        file: 'v',
        size: 1000,
        virtual: true,
        filler: fill,
        close: async () => {
          events.push('source closed');
          endRead(0); // as the stream filler sees the end of a closed stream
        },
      },
      mode: 'octet',
      negotiated: { blksize: 512, windowsize: 1, timeoutMs: undefined, tsize: undefined, oack: [] },
      oack: undefined,
      timeoutMs: 1000,
      retries: 5,
      onEnd: () => undefined,
    });
    running.start();
    await settle();
    await running.stop(new TftpError(TftpErrorCode.Closed, 'server closing'));
    expect(events).toEqual(['socket closed', 'source closed']);
  });
});
