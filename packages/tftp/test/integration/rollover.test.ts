/**
 * Files of more than 65535 blocks: the block number rolls over to 0 (as tftpd-hpa does), so a 512-byte
 * transfer can pass 32 MiB and a 1468-byte one 91.7 MiB. Real clients, byte-exact.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTftpServer, type TftpServer, type TransferEndEvent } from '../../src/index.js';
import { run, sha256, tempRoot, tool, WIRES, tftpHpa } from './helpers.js';

describe.each(WIRES)('%s wire', (wire) => {
  const root = tempRoot('bt-tftp-roll-');
  const out = tempRoot('bt-tftp-roll-out-');
  let server: TftpServer;
  const hashes: Record<string, string> = {};
  const SMALL = 33 * 1024 * 1024 + 5; // 67585 blocks of 512
  const LARGE = 94 * 1024 * 1024 + 7; // 67145 blocks of 1468 (98.6 MB)

  function nextEnd(): Promise<TransferEndEvent> {
    return new Promise((resolve, reject) => {
      server.once('transfer-end', resolve);
      server.once('transfer-error', (e) => reject(e.error));
    });
  }

  beforeAll(async () => {
    hashes.small = root.file('small-roll', SMALL);
    hashes.large = root.file('large-roll', LARGE);
    server = await startTftpServer({ wire, root: root.dir, host: '127.0.0.1', port: 0 });
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    root.cleanup();
    out.cleanup();
  });

  describe('block-number rollover', () => {
    it('sends 33 MiB at blksize 512 to tftp-hpa past block 65535', async () => {
      const local = join(out.dir, 'small');
      const ended = nextEnd();
      const r = await tftpHpa(server.address.port, 'binary', 'get', ['small-roll', local], {
        timeoutMs: 110_000,
      });
      expect(r.stdout + r.stderr).not.toMatch(/error|timed out/i);
      expect(sha256(readFileSync(local))).toBe(hashes.small);
      expect((await ended).bytes).toBe(SMALL);
    }, 120_000);

    it('sends 94 MiB at blksize 1468 to curl past block 65535', async () => {
      const local = join(out.dir, 'large');
      const ended = nextEnd();
      const r = await run(
        tool('curl'),
        [
          '-sS',
          '--fail',
          '--tftp-blksize',
          '1468',
          '-o',
          local,
          `tftp://127.0.0.1:${server.address.port}/large-roll`,
        ],
        { timeoutMs: 110_000 },
      );
      expect(r.code, r.stderr).toBe(0);
      expect(sha256(readFileSync(local))).toBe(hashes.large);
      const end = await ended;
      expect(end.bytes).toBe(LARGE);
      expect(end.options).toMatchObject({ blksize: 1468 });
      expect(end.wire).toBe(wire);
    }, 120_000);
  });
});
