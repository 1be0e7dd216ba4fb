// The demo project `boottorrent lab` boots, written from this machine's kernel and busybox: a valid
// project whose Linux prints the marker, rewritten only when its inputs change.
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadProject } from '@boottorrent/config';
import { readInitrd } from '@boottorrent/initrd-builder';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_MARKER, writeDemoProject, type DemoOptions } from '../../src/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bt-demo-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeDemoProject', () => {
  const opts = (sub: string, more: Partial<DemoOptions> = {}): DemoOptions => ({
    dir: join(dir, sub),
    address: '10.77.0.1',
    netmask: '255.255.255.0',
    timeout: 3,
    seedTime: 20,
    padding: 4096,
    ...more,
  });

  it('writes a project that loads without problems, with a kexec Linux and a bin OS', async () => {
    await writeDemoProject(opts('plain'));
    const r = await loadProject(join(dir, 'plain'));
    expect(r.errors).toEqual([]);
    const p = r.project!;
    expect(p.oss.map((o) => [o.name, o.method]).sort()).toEqual([
      ['demo-linux', 'kexec'],
      ['hello', 'bin'],
    ]);
    expect(p.config.general).toMatchObject({ host_ip: '10.77.0.1', timeout: 3, seed_time: 20 });
    expect(p.config.general.default_os).toBe('demo-linux');
    expect(p.config.dhcp).toMatchObject({ interface: 'br0', mode: 'server', netmask: '255.255.255.0' });
    expect(p.config.dhcp.range).toEqual({ start: '10.77.0.100', end: '10.77.0.199' });
    expect(p.config.tracker.enable).toBe(true);
  });

  it('builds an initramfs whose /init prints the marker with busybox, then powers off', async () => {
    const os = join(dir, 'plain/oss/demo-linux');
    const records = readInitrd(await readFile(join(os, 'target.cpio.gz')));
    const byPath = new Map(records.map((r) => [r.path, r]));
    const init = Buffer.from(byPath.get('init')!.data).toString();
    expect(byPath.get('init')!.mode & 0o111).not.toBe(0);
    expect(init).toMatch(/^#!\/bin\/sh\n/);
    expect(init).toContain(`echo "${DEMO_MARKER} os=demo-linux`);
    expect(init).toContain('/bin/busybox poweroff -f');
    expect(byPath.get('bin/busybox')?.type).toBe('file');
    expect(byPath.get('bin/sh')).toMatchObject({ type: 'symlink', target: 'busybox' });
    expect(byPath.get('dev/console')).toMatchObject({ type: 'chardev', major: 5, minor: 1 });
    expect((await stat(join(os, 'vmlinuz'))).size).toBeGreaterThan(1 << 20);
    expect((await stat(join(os, 'padding.bin'))).size).toBe(4096);
  });

  it('rewrites nothing when called again with the same options, and follows a changed padding', async () => {
    const os = join(dir, 'plain/oss/demo-linux');
    const mtimes = async () =>
      Promise.all(
        [join(dir, 'plain/config.yaml'), join(os, 'target.cpio.gz'), join(os, 'padding.bin')].map(
          async (f) => (await stat(f)).mtimeMs,
        ),
      );
    const before = await mtimes();
    await new Promise((r) => setTimeout(r, 20));
    await writeDemoProject(opts('plain'));
    expect(await mtimes()).toEqual(before);
    await writeDemoProject(opts('plain', { padding: 0 }));
    await expect(stat(join(os, 'padding.bin'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('writes proxyDHCP mode and a disabled tracker when asked', async () => {
    await writeDemoProject(opts('proxy', { dhcpMode: 'proxy', tracker: false, padding: 0 }));
    const r = await loadProject(join(dir, 'proxy'));
    expect(r.errors).toEqual([]);
    expect(r.project!.config.dhcp.mode).toBe('proxy');
    expect(r.project!.config.tracker.enable).toBe(false);
  });
});
