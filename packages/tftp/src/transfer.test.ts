import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { encodeAck } from './packet.js';
import { BlockStore, streamFiller } from './source.js';
import { Transfer } from './transfer.js';

/** A wire that records what the sender put on it: DATA block numbers, OACK as 'O', ERROR as 'E<code>'. */
function setup(opts: {
  size: number;
  blksize?: number;
  windowsize?: number;
  oack?: boolean;
  retries?: number;
  adaptive?: boolean;
}) {
  const blksize = opts.blksize ?? 512;
  const sent: (number | string)[] = [];
  let result: { error?: { code: string } } | undefined;
  const store = new BlockStore(
    streamFiller(Readable.from([Buffer.alloc(opts.size, 1)])),
    opts.size,
    blksize,
    opts.windowsize ?? 1,
  );
  const t = new Transfer({
    wire: {
      send: (p) => sent.push(p[1] === 3 ? p.readUInt16BE(2) : p[1] === 6 ? 'O' : `E${p.readUInt16BE(2)}`),
    },
    store,
    oack: opts.oack ? Buffer.from([0, 6]) : undefined,
    windowsize: opts.windowsize ?? 1,
    timeoutMs: 1000,
    retries: opts.retries ?? 3,
    adaptiveTimeout: opts.adaptive ?? false,
    now: () => Date.now(), // faked with the timers
    onDone: (error) => (result = { ...(error ? { error } : {}) }),
  });
  const take = () => sent.splice(0);
  const ack = async (n: number) => {
    t.handle(encodeAck(n));
    await vi.advanceTimersByTimeAsync(0); // let chunk reads settle
  };
  return { t, take, ack, result: () => result };
}

describe('Transfer (sender state machine)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('sends lock-step blocks and ends on the ACK of the short last block', async () => {
    const s = setup({ size: 1024 });
    s.t.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(s.take()).toEqual([1]);
    await s.ack(1);
    expect(s.take()).toEqual([2]);
    await s.ack(2);
    expect(s.take()).toEqual([3]); // 1024 = 2 × 512, so an empty block 3 ends the file
    await s.ack(3);
    expect(s.result()).toEqual({});
  });

  it('waits for ACK 0 after an OACK and resends the OACK on timeout', async () => {
    const s = setup({ size: 10, oack: true });
    s.t.start();
    expect(s.take()).toEqual(['O']);
    await vi.advanceTimersByTimeAsync(999);
    expect(s.take()).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(s.take()).toEqual(['O']);
    await s.ack(0);
    expect(s.take()).toEqual([1]);
  });

  it('sends a whole window and resends from the first missing block on a partial ACK', async () => {
    const s = setup({ size: 512 * 20, windowsize: 4 });
    s.t.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(s.take()).toEqual([1, 2, 3, 4]);
    await s.ack(4);
    expect(s.take()).toEqual([5, 6, 7, 8]);
    await s.ack(6); // 7 was lost: the receiver acknowledges what it has in order
    expect(s.take()).toEqual([7, 8, 9, 10]);
    expect(s.t.retransmits).toBe(2);
  });

  it("ignores duplicate ACKs instead of answering each (no sorcerer's apprentice)", async () => {
    const s = setup({ size: 512 * 10, windowsize: 1 });
    s.t.start();
    await vi.advanceTimersByTimeAsync(1000); // timeout: block 1 goes out twice
    expect(s.take()).toEqual([1, 1]);
    await s.ack(1);
    await s.ack(1); // the receiver acknowledged both copies
    expect(s.take()).toEqual([2]);
    await s.ack(2);
    await s.ack(2);
    expect(s.take()).toEqual([3]);
  });

  it('ignores ACKs for blocks it has not sent and stale ACKs from before the window', async () => {
    const s = setup({ size: 512 * 10, windowsize: 2 });
    s.t.start();
    await vi.advanceTimersByTimeAsync(0);
    s.take();
    await s.ack(5);
    await s.ack(40000);
    expect(s.take()).toEqual([]);
    await s.ack(2);
    s.take();
    await s.ack(1);
    expect(s.take()).toEqual([]);
    expect(s.t.ignored).toBe(3);
  });

  it('retransmits with exponential backoff and gives up with ERROR 0 after the retries', async () => {
    const s = setup({ size: 100, retries: 3 });
    s.t.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(s.take()).toEqual([1]);
    for (const step of [1000, 2000, 4000]) {
      await vi.advanceTimersByTimeAsync(step - 1);
      expect(s.take()).toEqual([]);
      await vi.advanceTimersByTimeAsync(1);
      expect(s.take()).toEqual([1]);
    }
    await vi.advanceTimersByTimeAsync(8000);
    expect(s.take()).toEqual(['E0']);
    expect(s.result()?.error?.code).toBe('TFTP_TIMEOUT');
  });

  it('resets the backoff once the peer makes progress', async () => {
    const s = setup({ size: 512 * 4 });
    s.t.start();
    await vi.advanceTimersByTimeAsync(1000 + 2000);
    expect(s.take()).toEqual([1, 1, 1]);
    await s.ack(1);
    expect(s.take()).toEqual([2]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(s.take()).toEqual([2]);
  });

  it('maps ACKs across the 65535 → 0 rollover inside a window', async () => {
    const s = setup({ size: 8 * 65540, blksize: 8, windowsize: 8 });
    s.t.start();
    await vi.advanceTimersByTimeAsync(0);
    for (let n = 8; n <= 65528; n += 8) {
      s.t.handle(encodeAck(n & 0xffff));
      if (n % 4096 === 0) await vi.advanceTimersByTimeAsync(0);
    }
    await vi.advanceTimersByTimeAsync(0);
    expect(s.take().slice(-8)).toEqual([65529, 65530, 65531, 65532, 65533, 65534, 65535, 0]);
    await s.ack(0); // absolute 65536
    expect(s.t.acked).toBe(65536);
    expect(s.take()).toEqual([1, 2, 3, 4, 5]); // blocks 65537..65541, the end of the file
    await s.ack(3); // absolute 65539: resend from 65540
    expect(s.take()).toEqual([4, 5]);
    await s.ack(5);
    expect(s.result()).toEqual({});
  });

  it('stops on an ERROR from the peer without answering it', async () => {
    const s = setup({ size: 5000 });
    s.t.start();
    await vi.advanceTimersByTimeAsync(0);
    s.take();
    s.t.handle(Buffer.from('\x00\x05\x00\x08tsize too big\x00', 'latin1'));
    expect(s.take()).toEqual([]);
    expect(s.result()?.error?.code).toBe('TFTP_PEER');
  });

  it('reads only the first `length` bytes of a reused receive buffer (the native wire)', async () => {
    const s = setup({ size: 5000 });
    s.t.start();
    await vi.advanceTimersByTimeAsync(0);
    s.take();
    const rx = Buffer.alloc(2048, 0x41); // stale bytes from an earlier, longer datagram
    encodeAck(1).copy(rx);
    s.t.handle(rx, 3); // a 3-byte datagram: too short for an ACK, whatever the buffer holds after it
    expect(s.take()).toEqual([]);
    s.t.handle(rx, 4);
    expect(s.take()).toEqual([2]);
    Buffer.from('\x00\x05\x00\x01no such file', 'latin1').copy(rx); // no NUL within its 16 bytes
    s.t.handle(rx, 16);
    expect(s.result()?.error).toMatchObject({
      code: 'TFTP_PEER',
      message: 'peer sent ERROR 1: no such file',
    });
  });

  describe('adaptive timeout (no timeout negotiated)', () => {
    /** Runs `windows` clean windows of 4 blocks, each acknowledged 2 ms after it was sent. */
    async function warm(s: ReturnType<typeof setup>, windows: number) {
      s.t.start();
      await vi.advanceTimersByTimeAsync(0);
      for (let w = 1; w <= windows; w++) {
        await vi.advanceTimersByTimeAsync(2);
        await s.ack(4 * w);
      }
      s.take();
    }

    it('shrinks the timeout to the measured round trip, never below MIN_RTO_MS', async () => {
      const s = setup({ size: 512 * 100, windowsize: 4, adaptive: true });
      expect(s.t.timeoutMs).toBe(1000);
      await warm(s, 5);
      expect(s.t.timeoutMs).toBe(20);
    });

    it('resends only the last block of the window on the first timeout (a tail probe)', async () => {
      const s = setup({ size: 512 * 100, windowsize: 4, adaptive: true });
      await warm(s, 5); // blocks 21–24 are out
      await vi.advanceTimersByTimeAsync(19);
      expect(s.take()).toEqual([]);
      await vi.advanceTimersByTimeAsync(1);
      expect(s.take()).toEqual([24]);
      await s.ack(22); // the receiver lost 23 and 24: it acknowledges what it has at once
      expect(s.take()).toEqual([23, 24, 25, 26]);
      expect(s.t.retransmits).toBe(3);
    });

    it('resends the whole window on the second timeout, backing off', async () => {
      const s = setup({ size: 512 * 100, windowsize: 4, adaptive: true });
      await warm(s, 5);
      await vi.advanceTimersByTimeAsync(20);
      expect(s.take()).toEqual([24]);
      await vi.advanceTimersByTimeAsync(39);
      expect(s.take()).toEqual([]);
      await vi.advanceTimersByTimeAsync(1);
      expect(s.take()).toEqual([21, 22, 23, 24]); // the whole window was lost
      await s.ack(24);
      expect(s.take()).toEqual([25, 26, 27, 28]);
    });

    it('resends the window at once when a duplicate ACK answers the probe (the whole window was lost)', async () => {
      const s = setup({ size: 512 * 100, windowsize: 4, adaptive: true });
      await warm(s, 5); // blocks 21–24 are out, 20 is acknowledged
      await vi.advanceTimersByTimeAsync(20);
      expect(s.take()).toEqual([24]);
      await s.ack(20); // the probe arrived out of order and the receiver has nothing after 20
      expect(s.take()).toEqual([21, 22, 23, 24]);
      await s.ack(20); // a second duplicate is ignored as always (sorcerer's apprentice)
      expect(s.take()).toEqual([]);
      await s.ack(24);
      expect(s.take()).toEqual([25, 26, 27, 28]);
    });

    it('does not count early timeouts against the retries: gives up no sooner than without adaptation', async () => {
      const s = setup({ size: 512 * 100, windowsize: 4, adaptive: true, retries: 2 });
      await warm(s, 5);
      // early: 20, 40, 80, 160, 320, 640 (free), then 1000 (retry 1), 2000 (retry 2), 4000 → give up
      await vi.advanceTimersByTimeAsync(20 + 40 + 80 + 160 + 320 + 640 + 1000 + 2000);
      expect(s.result()).toBeUndefined();
      await vi.advanceTimersByTimeAsync(3999);
      expect(s.result()).toBeUndefined();
      await vi.advanceTimersByTimeAsync(1);
      expect(s.result()?.error?.code).toBe('TFTP_TIMEOUT');
    });

    it('takes no sample from a window that was resent (Karn)', async () => {
      const s = setup({ size: 512 * 100, windowsize: 4, adaptive: true });
      s.t.start();
      await vi.advanceTimersByTimeAsync(1000); // timeout at the initial 1000 ms: probe of block 4
      await s.ack(4); // ambiguous: which copy does it acknowledge?
      expect(s.t.timeoutMs).toBe(1000);
      await vi.advanceTimersByTimeAsync(3);
      await s.ack(8); // a clean window: 3 ms
      expect(s.t.timeoutMs).toBe(20);
    });
  });
});
