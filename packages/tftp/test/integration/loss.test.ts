/**
 * Loss recovery through a lossy socket wrapper on the client side: chosen DATA packets are dropped on
 * arrival and chosen ACKs never leave. The server must still deliver every byte, resend only what was
 * lost, and never answer duplicate ACKs (sorcerer's apprentice).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTftpServer, type TftpServer, type TransferEndEvent } from '../../src/index.js';
import { download, tempRoot, WIRES } from './helpers.js';

describe.each(WIRES)('%s wire', (wire) => {
  const root = tempRoot('bt-tftp-loss-');
  let server: TftpServer;
  let data: Buffer;

  /** Resolves with the next transfer-end (the server sees the final ACK after the client has finished). */
  function nextEnd(): Promise<TransferEndEvent> {
    return new Promise((resolve) => server.once('transfer-end', resolve));
  }

  beforeAll(async () => {
    root.file('m', (1 << 20) + 123);
    data = (await import('node:fs')).readFileSync(`${root.dir}/m`);
    server = await startTftpServer({
      wire,
      root: root.dir,
      host: '127.0.0.1',
      port: 0,
      timeoutMs: 40,
      retries: 8,
    });
  });
  afterAll(async () => {
    await server?.close();
    root.cleanup();
  });

  /** Deterministic PRNG so a failing seed can be replayed. */
  function rng(seed: number) {
    return () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  }

  describe('loss recovery', () => {
    it('resends a lost DATA and survives a lost ACK in lock-step', async () => {
      const dropped = new Set<number>();
      const once = (set: Set<number>, key: number) => !set.has(key) && !!set.add(key);
      const end = nextEnd();
      const r = await download({
        port: server.address.port,
        file: 'm',
        options: { blksize: 1468 },
        dropData: (b) => (b === 3 || b === 500 ? once(dropped, b) : false),
        dropAck: (b) => (b === 7 ? once(dropped, 100000 + b) : false),
      });
      expect(r.error).toBeUndefined();
      expect(r.data.equals(data)).toBe(true);
      expect(dropped.size).toBe(3);
      expect((await end).retransmits).toBeGreaterThanOrEqual(3);
    });

    it('resends from the gap when a block inside a window is lost (windowsize 16)', async () => {
      const dropped = new Set<number>();
      const ended = nextEnd();
      const r = await download({
        port: server.address.port,
        file: 'm',
        options: { blksize: 1024, windowsize: 16 },
        dropData: (b) => [5, 40, 41].includes(b) && !dropped.has(b) && !!dropped.add(b),
      });
      expect(r.data.equals(data)).toBe(true);
      expect(dropped.size).toBe(3);
      const end = await ended;
      expect(end.options.windowsize).toBe(16);
      // only the tails after the gaps were resent (3 gaps × ≤ 16), not the file; slack for spurious timeouts under load
      expect(end.retransmits).toBeLessThan(256);
    });

    it('recovers when a whole window and its ACK are lost', async () => {
      const r = await download({
        port: server.address.port,
        file: 'm',
        options: { blksize: 512, windowsize: 8 },
        dropData: (b, nth) => b >= 17 && b <= 24 && nth < 30,
        dropAck: (b, nth) => b === 48 && nth < 8,
      });
      expect(r.data.equals(data)).toBe(true);
    });

    it.each([1, 4, 16, 64])(
      'stays byte-exact under 5 percent random loss both ways (windowsize %i)',
      async (windowsize) => {
        const rand = rng(windowsize * 7919);
        const r = await download({
          port: server.address.port,
          file: 'm',
          options: { blksize: 8192, windowsize },
          dropData: () => rand() < 0.05,
          dropAck: () => rand() < 0.05,
          deadlineMs: 60_000,
        });
        expect(r.data.equals(data)).toBe(true);
      },
    );

    it("does not double its packets when every ACK arrives twice (sorcerer's apprentice)", async () => {
      const r = await download({
        port: server.address.port,
        file: 'm',
        options: { blksize: 512 },
        duplicateAcks: true,
        timeoutMs: 1000,
      });
      expect(r.data.equals(data)).toBe(true);
      const blocks = Math.floor(data.length / 512) + 1;
      expect(r.dataPackets).toBeLessThan(blocks * 1.05);
    });

    it('completes 512 KiB windows that overflow the receiver socket buffer (npm tftp times out here)', async () => {
      await using big = await startTftpServer({
        wire,
        root: root.dir,
        host: '127.0.0.1',
        port: 0,
        timeoutMs: 40,
        windowBufferBytes: 1 << 30, // grant what is asked: 8 × 66300 bytes overflow the client's buffer
      });
      const r = await download({
        port: big.address.port,
        file: 'm',
        options: { blksize: 65464, windowsize: 8 },
        deadlineMs: 60_000,
      });
      expect(r.data.equals(data)).toBe(true);
    });

    it('recovers a lost window tail with a tail probe after the adaptive timeout, long before its own 1 s', async () => {
      await using srv = await startTftpServer({ wire, root: root.dir, host: '127.0.0.1', port: 0 }); // timeout 1 s
      const ended = new Promise<TransferEndEvent>((resolve) => srv.once('transfer-end', resolve));
      const dropped = new Set<number>();
      // window 11 (blocks 161–176) loses its last four blocks once, as an overflowing socket buffer does
      const r = await download({
        port: srv.address.port,
        file: 'm',
        options: { blksize: 1024, windowsize: 16 },
        dropData: (b) => b >= 173 && b <= 176 && !dropped.has(b) && !!dropped.add(b),
        timeoutMs: 5000, // the client waits as long as atftp does: recovery is up to the server
        deadlineMs: 20_000,
      });
      expect(r.data.equals(data)).toBe(true);
      expect(dropped.size).toBe(4);
      // one probe (block 176, which the client sees out of order and answers with ACK 172) and the
      // four lost blocks again; a timeout resending the whole window would make it 16
      expect((await ended).retransmits).toBeLessThanOrEqual(8);
    });
  });
});
