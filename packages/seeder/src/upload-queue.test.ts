import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { UploadQueue, type QueueSocket, type QueueWire } from './upload-queue.js';

const BLOCK = 16 * 1024;
const HEADER = 13; // length, id, index, begin

/**
 * A wire as bittorrent-protocol builds it: `piece` writes one message through `_push`. The socket
 * under it is a seam: the test decides when the kernel accepts bytes (`drain`).
 */
function fakeConn(name: string, out: string[]) {
  const socket: QueueSocket & { _bytesDispatched: number } = {
    _bytesDispatched: 0,
    _handle: { writeQueueSize: 0 },
  };
  let written = 0;
  const wire = Object.assign(new EventEmitter(), {
    destroyed: false,
    _push(data: Uint8Array): boolean {
      written += data.length;
      return true;
    },
    piece(index: number, offset: number, buffer: Uint8Array): void {
      out.push(`${name}:${index}/${offset / BLOCK}`);
      this._push(new Uint8Array(HEADER + buffer.length));
    },
  }) as unknown as QueueWire & EventEmitter;
  return {
    wire,
    socket,
    /** the kernel takes everything written so far */
    drain: () => (socket._bytesDispatched = written),
    have: (i: number) => {
      out.push(`${name}:have ${i}`);
      wire._push(new Uint8Array(9));
    },
  };
}

const request = (w: QueueWire, index: number, blocks: number, from = 0) => {
  for (let b = from; b < from + blocks; b++) w.piece(index, b * BLOCK, new Uint8Array(BLOCK));
};

/** A queue with two connections, a and b, under fake timers. */
function twoConns(backlogBytes: number) {
  vi.useFakeTimers();
  const out: string[] = [];
  const q = new UploadQueue(undefined, backlogBytes);
  const a = fakeConn('a', out);
  const b = fakeConn('b', out);
  q.attach(a.wire, a.socket);
  q.attach(b.wire, b.socket);
  return { out, q, a, b };
}

describe('UploadQueue', () => {
  afterEach(() => vi.useRealTimers());

  it('holds piece data back so a later HAVE overtakes it', () => {
    vi.useFakeTimers();
    const out: string[] = [];
    const q = new UploadQueue(undefined, 4 * BLOCK);
    const a = fakeConn('a', out);
    q.attach(a.wire, a.socket);
    request(a.wire, 7, 8);
    expect(out).toEqual(['a:7/0', 'a:7/1', 'a:7/2', 'a:7/3']); // the 4th block crosses the limit
    a.have(3);
    expect(out.at(-1)).toBe('a:have 3'); // straight to the socket, ahead of blocks 4..7
    a.drain();
    vi.advanceTimersByTime(10);
    expect(out.slice(5)).toEqual(['a:7/4', 'a:7/5', 'a:7/6', 'a:7/7']);
    expect(q.waited).toBe(4);
    q.destroy();
  });

  it('sends a connection its pieces in request order and never starves another connection', () => {
    const { out, q, a, b } = twoConns(2 * BLOCK);
    request(a.wire, 1, 3);
    request(a.wire, 2, 2);
    request(b.wire, 5, 3); // a is full: b still gets its share at once
    expect(out).toEqual(['a:1/0', 'a:1/1', 'b:5/0', 'b:5/1']);
    for (let i = 0; i < 4; i++) {
      a.drain();
      b.drain();
      vi.advanceTimersByTime(10);
    }
    expect(out.filter((m) => m.startsWith('a:'))).toEqual(['a:1/0', 'a:1/1', 'a:1/2', 'a:2/0', 'a:2/1']);
    expect(out.filter((m) => m.startsWith('b:'))).toEqual(['b:5/0', 'b:5/1', 'b:5/2']);
    q.destroy();
  });

  it('grows the allowance of a connection whose kernel drains it, and shrinks it when the kernel slows', () => {
    vi.useFakeTimers();
    const out: string[] = [];
    const q = new UploadQueue(undefined, 4 * BLOCK, 32 * BLOCK, () => Date.now());
    const a = fakeConn('a', out);
    q.attach(a.wire, a.socket);
    for (let i = 0; i < 40; i++) request(a.wire, i, 64);
    const perPump: number[] = [];
    const step = (kernelTakes: () => void) => {
      const before = out.length;
      kernelTakes();
      vi.advanceTimersByTime(5);
      perPump.push(out.length - before);
    };
    for (let i = 0; i < 5; i++) step(a.drain); // a fast link: everything is gone by the next pump
    expect([out.length - perPump.reduce((x, y) => x + y), ...perPump]).toEqual([4, 8, 16, 32, 32, 32]);
    perPump.length = 0;
    // A slow link: the kernel takes one block per pump. 32 blocks are held, more than half the
    // allowance every time, so it halves down to the floor, and nothing new goes meanwhile.
    for (let i = 0; i < 5; i++) step(() => (a.socket._bytesDispatched += BLOCK));
    expect(perPump).toEqual([0, 0, 0, 0, 0]);
    perPump.length = 0;
    step(a.drain); // fast again: the floor (4 blocks), doubled once, not the 32 of before
    expect(perPump).toEqual([8]);
    q.destroy();
  });

  it('drops a cancelled block and the queue of a closed wire; destroy flushes what is left', () => {
    const { out, q, a, b } = twoConns(BLOCK);
    request(a.wire, 1, 4);
    request(b.wire, 2, 3);
    a.wire.emit('cancel', 1, 2 * BLOCK, BLOCK);
    a.drain();
    vi.advanceTimersByTime(10);
    a.drain();
    vi.advanceTimersByTime(10);
    expect(out.filter((m) => m.startsWith('a:'))).toEqual(['a:1/0', 'a:1/1', 'a:1/3']);
    b.wire.destroyed = true;
    b.wire.emit('close');
    b.drain();
    vi.advanceTimersByTime(10);
    expect(out.filter((m) => m.startsWith('b:'))).toEqual(['b:2/0']);
    request(a.wire, 9, 3);
    q.destroy();
    expect(out.filter((m) => m.startsWith('a:9'))).toEqual(['a:9/0', 'a:9/1', 'a:9/2']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('reads the backlog off the socket for a wire that writes into it directly (fast-wire.ts)', () => {
    vi.useFakeTimers();
    const out: string[] = [];
    const q = new UploadQueue(undefined, 4 * BLOCK);
    const socket = { _bytesDispatched: 0, _handle: { writeQueueSize: 0 }, writableLength: 0 };
    const wire = Object.assign(new EventEmitter(), {
      destroyed: false,
      _directSocket: socket,
      // a coalescing wire: what it pushes is not what reaches the socket, so pushes are not counted
      _push: (): boolean => true,
      piece(index: number, offset: number, buffer: Uint8Array): void {
        out.push(`${index}/${offset / BLOCK}`);
        socket.writableLength += HEADER + buffer.length;
      },
    }) as unknown as QueueWire & EventEmitter;
    q.attach(wire, socket);
    for (let i = 0; i < 100; i++) wire._push(new Uint8Array(17)); // 100 REQUESTs merged into none
    request(wire, 5, 8);
    expect(out).toEqual(['5/0', '5/1', '5/2', '5/3']);
    socket.writableLength = 0; // the socket took it all
    vi.advanceTimersByTime(5);
    expect(out).toHaveLength(8);
    q.destroy();
  });
});
