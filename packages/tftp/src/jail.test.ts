import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { normalizeRequestPath, openInRoot } from './jail.js';

describe('normalizeRequestPath', () => {
  it.each([
    ['pxelinux.cfg/default', 'pxelinux.cfg/default'],
    ['/boot/undionly.kpxe', 'boot/undionly.kpxe'],
    ['\\boot\\grub\\grub.cfg', 'boot/grub/grub.cfg'],
    ['./a//b/./c', 'a/b/c'],
    ['dir/..x', 'dir/..x'],
    ['caf\xc3\xa9', 'café'],
  ])('maps %j inside the root as %j', (name, expected) => {
    expect(normalizeRequestPath(name, 255)).toEqual({ ok: true, path: expected });
  });

  it.each([
    ['../etc/passwd'],
    ['a/../../etc/passwd'],
    ['..\\..\\windows\\win.ini'],
    ['/..'],
    ['a\x00b'],
    ['a\nb'],
    ['a\x7fb'],
    ['\xff\xfe'],
    ['x'.repeat(256)],
  ])('refuses %j with ERROR 2', (name) => {
    expect(normalizeRequestPath(name, 255)).toMatchObject({ ok: false, code: 2 });
  });

  it('answers an empty name with ERROR 1', () => {
    expect(normalizeRequestPath('/', 255)).toMatchObject({ ok: false, code: 1 });
  });
});

describe('openInRoot', () => {
  const base = mkdtempSync(join(tmpdir(), 'bt-tftp-jail-'));
  const root = join(base, 'root');
  mkdirSync(join(root, 'sub'), { recursive: true });
  writeFileSync(join(base, 'secret'), 'secret');
  writeFileSync(join(root, 'sub', 'file'), 'hello');
  symlinkSync('../secret', join(root, 'escape'));
  symlinkSync('/etc', join(root, 'etc'));
  symlinkSync('sub/file', join(root, 'inside'));
  execFileSync('mkfifo', [join(root, 'fifo')]);
  const realRoot = realpathSync(root);
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it('opens a regular file and a symlink that stays inside', async () => {
    for (const p of ['sub/file', 'inside']) {
      const r = await openInRoot(realRoot, p);
      expect(r).toMatchObject({ ok: true, size: 5 });
      if (r.ok) await r.handle.close();
    }
  });

  it('refuses symlinks that resolve outside the root with ERROR 2', async () => {
    expect(await openInRoot(realRoot, 'escape')).toMatchObject({ ok: false, code: 2 });
    expect(await openInRoot(realRoot, 'etc/passwd')).toMatchObject({ ok: false, code: 2 });
  });

  it('answers directories, FIFOs and missing files with ERROR 1 without blocking', async () => {
    expect(await openInRoot(realRoot, 'sub')).toMatchObject({ ok: false, code: 1 });
    expect(await openInRoot(realRoot, 'fifo')).toMatchObject({ ok: false, code: 1 });
    expect(await openInRoot(realRoot, 'missing')).toMatchObject({ ok: false, code: 1 });
  });
});
