/** Server behaviour over real sockets: writes refused, modes, virtual files, events, the cap, close(). */
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  encodeAck,
  encodeRequest,
  Opcode,
  startTftpServer,
  type TftpServer,
  type TransferErrorEvent,
  type TransferStartEvent,
  type VirtualFileProvider,
} from '../../src/index.js';
import { download, run, tempRoot, tool, WIRES, tftpHpa } from './helpers.js';
import { rawPeer } from './raw.js';

describe.each(WIRES)('%s wire', (wire) => {
  const root = tempRoot('bt-tftp-srv-');
  let server: TftpServer;
  const provider: VirtualFileProvider = (path, client) => {
    if (path === 'boot.ipxe') {
      const text = `#!ipxe\necho hello ${client.address}\n`;
      return { size: text.length, stream: () => Readable.from([Buffer.from(text)]) };
    }
    if (path === 'short') return { size: 5000, stream: () => Readable.from([Buffer.alloc(100)]) };
    if (path === 'async/big')
      return Promise.resolve({ size: 3_000_000, stream: () => Readable.from(bigPieces()) });
    if (path === 'throws') throw new Error('provider bug');
    return null;
  };
  function* bigPieces() {
    for (let i = 0; i < 3000; i++) yield Buffer.alloc(1000, i % 256);
  }

  beforeAll(async () => {
    root.file('one-mib', 1 << 20);
    server = await startTftpServer({
      wire,
      root: root.dir,
      host: '127.0.0.1',
      port: 0,
      files: provider,
      timeoutMs: 200,
      retries: 2,
    });
  });
  afterAll(async () => {
    await server?.close();
    root.cleanup();
  });

  describe('requests', () => {
    it('refuses a write request with ERROR 2 and writes nothing (tftp-hpa put)', async () => {
      root.text('upload-src', 'data');
      const r = await tftpHpa(server.address.port, 'binary', 'put', [
        join(root.dir, 'upload-src'),
        'uploaded',
      ]);
      expect(r.stdout + r.stderr).toMatch(/Error code 2/);
      expect(existsSync(join(root.dir, 'uploaded'))).toBe(false);
    });

    it('refuses an unsupported mode with ERROR 4', async () => {
      const r = await download({ port: server.address.port, file: 'one-mib', mode: 'mail' });
      expect(r.error?.code).toBe(4);
    });

    it('answers tsize and the options in an OACK and reports them in transfer-start', async () => {
      const started = new Promise<TransferStartEvent>((resolve) => server.once('transfer-start', resolve));
      const r = await download({
        port: server.address.port,
        file: 'one-mib',
        // 8 datagrams of 65464 bytes overflow a 212992-byte socket buffer (66300 each): 3 are granted
        options: { tsize: 0, blksize: 70000, timeout: 3, windowsize: 8, foo: 1 },
      });
      expect(Object.fromEntries(r.oack!)).toEqual({
        tsize: String(1 << 20),
        blksize: '65464',
        timeout: '3',
        windowsize: '3',
      });
      expect(await started).toMatchObject({
        wire,
        file: 'one-mib',
        size: 1 << 20,
        virtual: false,
        mode: 'octet',
        client: { address: '127.0.0.1' },
        options: { blksize: 65464, windowsize: 3, timeoutMs: 3000, tsize: 1 << 20 },
      });
    });
  });

  describe('virtual files', () => {
    it('serves generated content per client without touching disk (curl)', async () => {
      const r = await run(tool('curl'), [
        '-sS',
        '--fail',
        `tftp://127.0.0.1:${server.address.port}/boot.ipxe`,
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe('#!ipxe\necho hello 127.0.0.1\n');
    });

    it('answers tsize for a virtual file in netascii mode with the converted size', async () => {
      const r = await download({
        port: server.address.port,
        file: '/boot.ipxe',
        mode: 'netascii',
        options: { tsize: 0 },
      });
      expect(r.oack?.get('tsize')).toBe(String('#!ipxe\necho hello 127.0.0.1\n'.length + 2));
      expect(r.data.toString('latin1')).toBe('#!ipxe\r\necho hello 127.0.0.1\r\n');
    });

    it('streams a large asynchronous provider file byte-exact', async () => {
      const r = await download({
        port: server.address.port,
        file: 'async/big',
        options: { blksize: 1468, windowsize: 16 },
      });
      expect(r.data).toEqual(Buffer.concat([...bigPieces()]));
    });

    it('falls through to the root when the provider returns null', async () => {
      const r = await download({ port: server.address.port, file: 'one-mib' });
      expect(r.data).toEqual(readFileSync(join(root.dir, 'one-mib')));
    });

    it('refuses with ERROR 0 when the provider throws, and fails a stream shorter than its size', async () => {
      expect((await download({ port: server.address.port, file: 'throws' })).error?.code).toBe(0);
      const failed = new Promise<TransferErrorEvent>((resolve) => server.once('transfer-error', resolve));
      const r = await download({ port: server.address.port, file: 'short' });
      expect(r.error?.code).toBe(0);
      expect((await failed).error.code).toBe('TFTP_SOURCE');
    });
  });

  describe('peers that misbehave', () => {
    it('ignores packets from a wrong port and junk on a transfer port, and the transfer goes on', async () => {
      const client = await rawPeer();
      const intruder = await rawPeer();
      try {
        await client.send(encodeRequest(Opcode.RRQ, 'one-mib'), server.address.port);
        const first = (await client.next())!;
        const port = first.rinfo.port;
        expect(first.msg.readUInt16BE(2)).toBe(1);
        for (const junk of [
          Buffer.from([0]),
          Buffer.from([0, 4]),
          Buffer.alloc(70000 / 2, 0xff),
          encodeAck(1),
          Buffer.from([0, 5, 0, 0, 0]),
        ]) {
          await intruder.send(junk, port); // RFC 1350 §4: another TID; must not disturb the transfer
        }
        await client.send(Buffer.from([0]), port); // the packet that kills the npm tftp server
        await client.send(Buffer.from([0, 9, 1, 2]), port);
        await client.send(encodeAck(1), port);
        const second = (await client.next())!;
        expect(second.msg.readUInt16BE(0)).toBe(Opcode.DATA);
        expect(second.msg.readUInt16BE(2)).toBe(2);
        expect(await intruder.next(100)).toBeUndefined();
      } finally {
        client.close();
        intruder.close();
      }
    });

    it('gives up on a silent client after the retries with ERROR 0 and a transfer-error', async () => {
      const client = await rawPeer();
      const port = client.socket.address().port;
      const failed = new Promise<TransferErrorEvent>((resolve) =>
        server.on('transfer-error', (e) => e.client.port === port && resolve(e)),
      );
      await client.send(encodeRequest(Opcode.RRQ, 'one-mib'), server.address.port);
      const seen: number[] = [];
      for (;;) {
        const p = await client.next(5000);
        if (!p) break;
        seen.push(p.msg.readUInt16BE(0));
        if (p.msg.readUInt16BE(0) === Opcode.ERROR) break;
      }
      client.close();
      expect(seen).toEqual([Opcode.DATA, Opcode.DATA, Opcode.DATA, Opcode.ERROR]); // first + 2 retries
      expect((await failed).error.code).toBe('TFTP_TIMEOUT');
    });
  });
});
