/**
 * Byte-exact downloads with the real clients firmware people meet: Debian's tftp-hpa, curl, atftp
 * (the one with windowsize) and busybox. Each client runs as a process against a server on 127.0.0.1.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTftpServer, type TftpServer, type TransferEndEvent } from '../../src/index.js';
import { datagramCost } from '../../src/options.js';
import { run, sha256, tempRoot, tool, WIRES, tftpHpa } from './helpers.js';

describe.each(WIRES)('%s wire', (wire) => {
  const SIZES = [0, 1, 511, 512, 513, 1 << 20];
  const root = tempRoot('bt-tftp-clients-');
  const out = tempRoot('bt-tftp-out-');
  const hashes = new Map<string, string>();
  let server: TftpServer;
  let url: string;

  beforeAll(async () => {
    for (const size of SIZES) hashes.set(`f${size}`, root.file(`f${size}`, size));
    root.text('lines.txt', 'first line\nsecond\r\nbare\rcarriage\n\n');
    server = await startTftpServer({ wire, root: root.dir, host: '127.0.0.1', port: 0 });
    url = `127.0.0.1:${server.address.port}`;
  });
  afterAll(async () => {
    await server?.close();
    root.cleanup();
    out.cleanup();
  });

  let seq = 0;
  function expectSame(local: string, name: string) {
    expect(sha256(readFileSync(local)), `${name} differs`).toBe(hashes.get(name));
  }
  /**
   * The end of the next transfer of `name`: taken before the client starts, awaited after it exits
   * (the server may read the client's last ACK after the client process has gone).
   */
  function nextEnd(name: string): Promise<TransferEndEvent> {
    return new Promise((resolve) => {
      const onEnd = (e: TransferEndEvent) => {
        if (e.file !== name) return;
        server.off('transfer-end', onEnd);
        resolve(e);
      };
      server.on('transfer-end', onEnd);
    });
  }

  describe('tftp-hpa client', () => {
    it.each(SIZES)('downloads a %i-byte file byte-exact (512-byte lock-step, no options)', async (size) => {
      const local = join(out.dir, `hpa${seq++}`);
      const ended = nextEnd(`f${size}`);
      const r = await tftpHpa(server.address.port, 'binary', 'get', [`f${size}`, local]);
      expect(r.stdout + r.stderr).not.toMatch(/error|timed out/i);
      expectSame(local, `f${size}`);
      expect(await ended).toMatchObject({
        bytes: size,
        wire,
        options: { blksize: 512, windowsize: 1 },
      });
    });

    it('downloads a text file in netascii mode and gets the same lines back', async () => {
      const local = join(out.dir, `hpa${seq++}`);
      const ended = nextEnd('lines.txt');
      const r = await tftpHpa(server.address.port, 'netascii', 'get', ['lines.txt', local]);
      expect(r.stdout + r.stderr).not.toMatch(/error/i);
      expect(readFileSync(local, 'latin1')).toBe('first line\nsecond\r\nbare\rcarriage\n\n');
      // 34 bytes on disk; 4 LF become CR LF and 2 CR become CR NUL on the wire
      expect(await ended).toMatchObject({ mode: 'netascii', size: 40 });
    });
  });

  describe('curl', () => {
    // curl 7.88 rejects "tsize 0" in an OACK as invalid (it does so with tftpd-hpa too), so the empty
    // file is fetched without options.
    it.each(SIZES)('downloads a %i-byte file byte-exact', async (size) => {
      const local = join(out.dir, `curl${seq++}`);
      const noOpts = size === 0 ? ['--tftp-no-options'] : [];
      const r = await run(tool('curl'), ['-sS', '--fail', ...noOpts, '-o', local, `tftp://${url}/f${size}`]);
      expect(r.code, r.stderr).toBe(0);
      expectSame(local, `f${size}`);
    });

    it.each([512, 1468, 8192, 65464])(
      'downloads 1 MiB and 513 bytes byte-exact with --tftp-blksize %i',
      async (blksize) => {
        for (const name of ['f1048576', 'f513']) {
          const local = join(out.dir, `curl${seq++}`);
          const ended = nextEnd(name);
          const r = await run(tool('curl'), [
            '-sS',
            '--fail',
            '--tftp-blksize',
            String(blksize),
            '-o',
            local,
            `tftp://${url}/${name}`,
          ]);
          expect(r.code, r.stderr).toBe(0);
          expectSame(local, name);
          expect((await ended).options.blksize).toBe(blksize);
        }
      },
    );
  });

  describe('atftp', () => {
    const atftp = (name: string, local: string, opts: string[]) =>
      run(tool('atftp'), [
        '-g',
        '-r',
        name,
        '-l',
        local,
        ...opts.flatMap((o) => ['--option', o]),
        '127.0.0.1',
        String(server.address.port),
      ]);

    it.each(SIZES)('downloads a %i-byte file byte-exact', async (size) => {
      const local = join(out.dir, `atftp${seq++}`);
      const r = await atftp(`f${size}`, local, ['tsize 0']);
      expect(r.code, r.stderr).toBe(0);
      expectSame(local, `f${size}`);
    });

    const matrix = [512, 1468, 8192, 65464].flatMap((b) => [1, 4, 16, 64].map((w) => [b, w] as const));
    it.each(matrix)(
      'downloads 1 MiB byte-exact with blksize %i and windowsize %i',
      async (blksize, windowsize) => {
        const local = join(out.dir, `atftp${seq++}`);
        const ended = nextEnd('f1048576');
        const r = await atftp('f1048576', local, [`blksize ${blksize}`, `windowsize ${windowsize}`]);
        expect(r.code, r.stderr).toBe(0);
        expectSame(local, 'f1048576');
        // the server grants at most 64 blocks and what fits a 212992-byte socket buffer (datagramCost)
        const granted = Math.max(1, Math.min(windowsize, 64, Math.floor(212_992 / datagramCost(blksize))));
        expect((await ended).options).toMatchObject({ blksize, windowsize: granted });
      },
    );
  });

  describe('atftp with large windows (default 212992-byte socket buffer)', () => {
    const big = tempRoot('bt-tftp-big-');
    let hash: string;
    beforeAll(() => {
      hash = big.file('big', 24 << 20);
    });
    afterAll(() => big.cleanup());

    async function fetchBig(
      blksize: number,
      windowsize: number,
      serverOpts: object = {},
      clientOpts: string[] = [],
    ) {
      await using srv = await startTftpServer({
        wire,
        root: big.dir,
        host: '127.0.0.1',
        port: 0,
        ...serverOpts,
      });
      const ended = new Promise<TransferEndEvent>((resolve) => srv.once('transfer-end', resolve));
      const local = join(out.dir, `atftp-big${seq++}`);
      const r = await run(
        tool('atftp'),
        [
          '-g',
          '-r',
          'big',
          '-l',
          local,
          '--option',
          `blksize ${blksize}`,
          '--option',
          `windowsize ${windowsize}`,
          ...clientOpts.flatMap((o) => ['--option', o]),
          '127.0.0.1',
          String(srv.address.port),
        ],
        { timeoutMs: 50_000 },
      );
      expect(r.code, r.stderr).toBe(0);
      expect(sha256(readFileSync(local)), 'big differs').toBe(hash);
      return ended;
    }

    it.each([
      [8192, 16, 12],
      [65464, 16, 3],
    ])(
      'asks blksize %i × windowsize %i, is granted %i and loses (almost) nothing',
      async (blksize, asked, granted) => {
        // A fixed 2 s timeout (RFC 2349): the adaptive one (20 ms floor) probes a window's tail whenever
        // atftp waits that long for the CPU, which a busy machine's scheduler does several times a run.
        const end = await fetchBig(blksize, asked, {}, ['timeout 2']);
        expect(end.options.windowsize).toBe(granted);
        // a window that overflowed atftp's buffer would lose its tail in every window (and, at 2 s a
        // window, not end within run()'s 50 s)
        expect(end.retransmits).toBeLessThan(end.packets / 100);
      },
    );

    it('survives windows that overflow the buffer every time (8192 × 16 forced) through tail probes', async () => {
      const end = await fetchBig(8192, 16, { windowBufferBytes: 1 << 30 });
      expect(end.options.windowsize).toBe(16);
      // it took 5 minutes for 50 MiB with a fixed 1 s timeout; bounded by run()'s 50 s here
      expect(end.retransmits).toBeGreaterThan(0);
    });
  });

  describe('busybox tftp', () => {
    it.each(SIZES)('downloads a %i-byte file byte-exact', async (size) => {
      const local = join(out.dir, `bb${seq++}`);
      const r = await run(tool('busybox'), [
        'tftp',
        '-g',
        '-r',
        `f${size}`,
        '-l',
        local,
        '127.0.0.1',
        String(server.address.port),
      ]);
      expect(r.code, r.stderr).toBe(0);
      expectSame(local, `f${size}`);
    });

    it('downloads 1 MiB byte-exact with -b 1468', async () => {
      const local = join(out.dir, `bb${seq++}`);
      const ended = nextEnd('f1048576');
      const r = await run(tool('busybox'), [
        'tftp',
        '-g',
        '-b',
        '1468',
        '-r',
        'f1048576',
        '-l',
        local,
        '127.0.0.1',
        String(server.address.port),
      ]);
      expect(r.code, r.stderr).toBe(0);
      expectSame(local, 'f1048576');
      expect((await ended).options.blksize).toBe(1468);
    });
  });
});
