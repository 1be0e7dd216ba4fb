/**
 * Traversal suite against a running server: every name that could leave the root is refused with
 * ERROR 2 (or 1) and a logged `refused` event; names that tftpd-hpa maps inside the root are served.
 */
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTftpServer, type RefusedEvent, type TftpServer } from '../../src/index.js';
import { download, tempRoot, tftpHpa, WIRES } from './helpers.js';

describe.each(WIRES)('%s wire', (wire) => {
  const base = tempRoot('bt-tftp-jail-');
  const root = join(base.dir, 'root');
  const logged: string[] = [];
  const refused: RefusedEvent[] = [];
  let server: TftpServer;

  beforeAll(async () => {
    mkdirSync(join(root, 'sub'), { recursive: true });
    writeFileSync(join(base.dir, 'secret'), 'top secret');
    writeFileSync(join(root, 'sub', 'file'), 'inside');
    symlinkSync('../secret', join(root, 'escape'));
    symlinkSync('/etc', join(root, 'etc'));
    server = await startTftpServer({
      wire,
      root,
      host: '127.0.0.1',
      port: 0,
      logger: { warn: (msg) => logged.push(msg) },
    });
    server.on('refused', (e) => refused.push(e));
  });
  afterAll(async () => {
    await server?.close();
    base.cleanup();
  });

  describe('root jail', () => {
    it.each([
      ['../secret', 2],
      ['sub/../../secret', 2],
      ['..\\secret', 2],
      ['\\..\\secret', 2],
      ['/../secret', 2],
      ['escape', 2],
      ['etc/passwd', 2],
      ['sub\x01file', 2],
      ['sub\x1bfile', 2],
      [`${'a/'.repeat(200)}x`, 2],
      ['\xc0\xae\xc0\xae/secret', 2],
      ['/etc/passwd', 2], // maps to root/etc/passwd, and root/etc links to /etc
      ['/boot/vmlinuz', 1],
      ['sub', 1],
      ['missing', 1],
    ])('refuses %j with ERROR %i and logs it', async (name, code) => {
      const before = { logged: logged.length, refused: refused.length };
      const r = await download({ port: server.address.port, file: name });
      expect(r.error?.code).toBe(code);
      expect(r.data.length).toBe(0);
      expect(refused.length).toBe(before.refused + 1);
      expect(logged.length).toBe(before.logged + 1);
    });

    it.each(['/sub/file', '\\sub\\file', 'sub//./file', './sub/file'])(
      'maps %j inside the root like tftpd-hpa',
      async (name) => {
        const r = await download({ port: server.address.port, file: name });
        expect(r.error).toBeUndefined();
        expect(r.data.toString()).toBe('inside');
      },
    );

    it('refuses ../secret from the tftp-hpa client too', async () => {
      const local = join(base.dir, 'got');
      const r = await tftpHpa(server.address.port, 'binary', 'get', ['../secret', local]);
      expect(r.stdout + r.stderr).toMatch(/Error code 2/);
      expect(() => readFileSync(local, 'utf8')).not.toThrow(); // tftp-hpa leaves an empty file…
      expect(readFileSync(local, 'utf8')).toBe(''); // …but never the secret
    });
  });
});
