/** Concurrency, the transfer cap, close() and AbortSignal, setup errors. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  encodeRequest,
  Opcode,
  startTftpServer,
  TftpError,
  type TransferErrorEvent,
} from '../../src/index.js';
import { run, sha256, tempRoot, tool, WIRES } from './helpers.js';
import { rawPeer } from './raw.js';

describe.each(WIRES)('%s wire', (wire) => {
  const root = tempRoot('bt-tftp-life-');
  const out = tempRoot('bt-tftp-life-out-');
  let hash: string;
  beforeAll(() => {
    hash = root.file('f', 3 * 1024 * 1024 + 77);
  });
  afterAll(() => {
    root.cleanup();
    out.cleanup();
  });

  describe('concurrency', () => {
    it('serves 20 concurrent curl downloads byte-exact', async () => {
      await using server = await startTftpServer({ wire, root: root.dir, host: '127.0.0.1', port: 0 });
      let peak = 0;
      const wires = new Set<string>();
      server.on('transfer-start', (e) => {
        peak = Math.max(peak, server.stats().active);
        wires.add(e.wire);
      });
      const runs = Array.from({ length: 20 }, (_, i) =>
        run(
          tool('curl'),
          [
            '-sS',
            '--fail',
            '--tftp-blksize',
            String([512, 1468, 8192][i % 3]),
            '-o',
            join(out.dir, `c${i}`),
            `tftp://127.0.0.1:${server.address.port}/f`,
          ],
          { timeoutMs: 120_000 },
        ),
      );
      const results = await Promise.all(runs);
      results.forEach((r) => expect(r.code, r.stderr).toBe(0));
      for (let i = 0; i < 20; i++) expect(sha256(readFileSync(join(out.dir, `c${i}`)))).toBe(hash);
      expect(peak).toBeGreaterThan(1);
      expect(server.stats()).toMatchObject({ started: 20, completed: 20, failed: 0, active: 0 });
      expect([...wires]).toEqual([wire]);
    }, 120_000);

    it('answers the request over the cap with ERROR 0 "server busy"', async () => {
      await using server = await startTftpServer({
        wire,
        root: root.dir,
        host: '127.0.0.1',
        port: 0,
        maxTransfers: 2,
      });
      const peers = await Promise.all([rawPeer(), rawPeer(), rawPeer()]);
      try {
        for (const p of peers.slice(0, 2)) {
          await p.send(encodeRequest(Opcode.RRQ, 'f'), server.address.port);
          expect((await p.next())!.msg.readUInt16BE(0)).toBe(Opcode.DATA);
        }
        await peers[2]!.send(encodeRequest(Opcode.RRQ, 'f'), server.address.port);
        const busy = (await peers[2]!.next())!.msg;
        expect(busy.readUInt16BE(0)).toBe(Opcode.ERROR);
        expect(busy.readUInt16BE(2)).toBe(0);
        expect(busy.toString('latin1', 4)).toMatch(/busy/);
        expect(server.stats()).toMatchObject({ active: 2, refused: 1 });
      } finally {
        peers.forEach((p) => p.close());
      }
    });
  });

  describe('close', () => {
    it('ends every transfer with ERROR 0, fires transfer-error for each, and is idempotent', async () => {
      const server = await startTftpServer({ wire, root: root.dir, host: '127.0.0.1', port: 0 });
      const errors: TransferErrorEvent[] = [];
      server.on('transfer-error', (e) => errors.push(e));
      const peers = await Promise.all([rawPeer(), rawPeer()]);
      for (const p of peers) {
        await p.send(encodeRequest(Opcode.RRQ, 'f'), server.address.port);
        await p.next();
      }
      const first = server.close();
      expect(server.close()).toBe(first);
      await first;
      for (const p of peers) {
        const msg = (await p.next())!.msg;
        expect([msg.readUInt16BE(0), msg.readUInt16BE(2)]).toEqual([Opcode.ERROR, 0]);
        p.close();
      }
      expect(errors.map((e) => e.error.code)).toEqual(['TFTP_CLOSED', 'TFTP_CLOSED']);
      await server.close();
    });

    it('closes when its AbortSignal fires and then answers nothing', async () => {
      const ac = new AbortController();
      const server = await startTftpServer({
        wire,
        root: root.dir,
        host: '127.0.0.1',
        port: 0,
        signal: ac.signal,
      });
      const port = server.address.port;
      ac.abort();
      await server.close();
      const p = await rawPeer();
      await p.send(encodeRequest(Opcode.RRQ, 'f'), port);
      expect(await p.next(300)).toBeUndefined();
      p.close();
    });
  });

  describe('setup errors', () => {
    it('rejects a missing root and out-of-range options with TFTP_BAD_OPTION', async () => {
      await expect(startTftpServer({ wire, root: join(root.dir, 'nope') })).rejects.toMatchObject({
        code: 'TFTP_BAD_OPTION',
        hint: 'create it or fix the path',
      });
      await expect(startTftpServer({ wire, root: root.dir, maxBlockSize: 4 })).rejects.toBeInstanceOf(
        TftpError,
      );
      await expect(startTftpServer({ wire, root: root.dir, port: 70000 })).rejects.toMatchObject({
        code: 'TFTP_BAD_OPTION',
      });
    });

    it('rejects a port in use with TFTP_BIND', async () => {
      await using a = await startTftpServer({ wire, root: root.dir, host: '127.0.0.1', port: 0 });
      await expect(
        startTftpServer({ wire, root: root.dir, host: '127.0.0.1', port: a.address.port }),
      ).rejects.toMatchObject({
        code: 'TFTP_BIND',
        hint: expect.stringContaining('pick another port'),
        cause: expect.objectContaining({ code: 'EADDRINUSE' }),
      });
    });

    it('rejects an already aborted signal with TFTP_ABORTED carrying the reason', async () => {
      const reason = new Error('stop');
      await expect(
        startTftpServer({
          wire,
          root: root.dir,
          host: '127.0.0.1',
          port: 0,
          signal: AbortSignal.abort(reason),
        }),
      ).rejects.toMatchObject({ code: 'TFTP_ABORTED', cause: reason });
    });
  });
});
