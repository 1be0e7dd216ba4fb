import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { UploadLimiter, type LimitedWire } from './upload-limit.js';

const BLOCK = 16 * 1024;

/** A wire whose `piece` records what went out; the limiter wraps it as it wraps webtorrent's. */
function fakeWire(name: string, out: string[]) {
  return Object.assign(new EventEmitter(), {
    destroyed: false,
    piece(index: number, offset: number): void {
      out.push(`${name}:${index}/${offset / BLOCK}`);
    },
  }) as unknown as LimitedWire & EventEmitter;
}

const request = (w: LimitedWire, index: number, blocks: number) => {
  for (let b = 0; b < blocks; b++) w.piece(index, b * BLOCK, new Uint8Array(BLOCK));
};

/** A limiter on the fake clock with two wires, a and b. */
function setup() {
  vi.useFakeTimers();
  const out: string[] = [];
  const limiter = new UploadLimiter(() => Date.now());
  const a = fakeWire('a', out);
  const b = fakeWire('b', out);
  limiter.attach(a);
  limiter.attach(b);
  return { out, limiter, a, b };
}

describe('UploadLimiter', () => {
  afterEach(() => vi.useRealTimers());

  it('passes every block at once without a limit', () => {
    const { out, a, limiter } = setup();
    request(a, 0, 8);
    expect(out).toHaveLength(8);
    expect(limiter.held).toBe(0);
  });

  it('sends at the limit, oldest first over all wires, and flushes when the limit is lifted', () => {
    const { out, a, b, limiter } = setup();
    limiter.set(4 * BLOCK); // 64 KiB/s: one block each 250 ms once the first has gone
    request(a, 0, 6);
    request(b, 1, 6);
    expect(out).toEqual(['a:0/0']);
    vi.advanceTimersByTime(1000);
    // 4 blocks' worth of tokens in a second (the first went on credit)
    expect(out).toEqual(['a:0/0', 'a:0/1', 'a:0/2', 'a:0/3', 'a:0/4']);
    vi.advanceTimersByTime(1000);
    expect(out.slice(5)).toEqual(['a:0/5', 'b:1/0', 'b:1/1', 'b:1/2']);
    expect(limiter.held).toBe(11);
    limiter.set(undefined);
    expect(out).toHaveLength(12);
    expect(out.slice(9)).toEqual(['b:1/3', 'b:1/4', 'b:1/5']);
    request(a, 2, 3); // lifted: straight through again
    expect(out).toHaveLength(15);
    expect(limiter.limit).toBeUndefined();
  });

  it('drops a held block its peer cancelled and the blocks of a closed wire', () => {
    const { out, a, b, limiter } = setup();
    limiter.set(BLOCK);
    request(a, 0, 3);
    request(b, 1, 2);
    a.emit('cancel', 0, BLOCK, BLOCK);
    b.emit('close');
    limiter.set(undefined);
    expect(out).toEqual(['a:0/0', 'a:0/2']);
  });
});
