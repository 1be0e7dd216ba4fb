import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { zstdCompressSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildPhase1,
  findHostParts,
  type InitrdError,
  resolveLibraries,
  stripElf,
  type HostParts,
} from '../../src/index.js';
import { loadModulesDep, moduleBytes, parseModulesDep } from '../../src/modules.js';
import { hostParts } from './helpers.js';

const run = promisify(execFile);
let parts: HostParts;
let dir: string;
beforeAll(async () => {
  parts = await hostParts();
  dir = await mkdtemp(join(tmpdir(), 'bt-host-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function lddSet(bin: string): Promise<string[]> {
  const { stdout } = await run('ldd', [bin]);
  return stdout
    .split('\n')
    .map((l) => /=> (\S+)/.exec(l)?.[1] ?? /^\s*(\/\S+)/.exec(l)?.[1])
    .filter((p): p is string => !!p)
    .map((p) => basename(p))
    .sort();
}

describe('host parts', () => {
  it('finds the kernel with its modules, a static busybox, node and kexec', () => {
    expect(basename(parts.kernel)).toBe(`vmlinuz-${parts.kernelVersion}`);
    expect(parts.modulesDir.endsWith(`/lib/modules/${parts.kernelVersion}`)).toBe(true);
    expect(parts.busybox).toContain('busybox-static');
    expect(parts.node).not.toContain('/.bin/');
  });

  it('lists every missing part with the command that provides it', async () => {
    const empty = await mkdtemp(join(dir, 'empty-'));
    const err = await findHostParts({
      searchRoots: [empty],
      node: join(empty, 'no-node'),
      requireQemu: true,
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'INITRD_HOST_PARTS_MISSING' });
    const { message, hint } = err as InitrdError;
    expect(message).not.toContain('\n');
    expect(message).toContain(
      `not found under ${empty}: a kernel with its modules, a static busybox, node, kexec, qemu-system-x86_64`,
    );
    expect(hint).toMatch(/apt-get download linux-image-amd64/);
    expect(hint).toMatch(/a static busybox: apt-get download busybox-static && dpkg -x/);
    expect(hint).toMatch(/kexec: apt-get install kexec-tools/);
    expect(hint).toMatch(/node: pass the path/);
    expect(hint).toMatch(/qemu-system-x86_64: apt-get install qemu-system-x86/);
    const { qemu: _q, ...noQemu } = parts;
    await expect(
      buildPhase1({ outDir: join(empty, 'out'), parts: noQemu, agentBundle: parts.busybox, qemu: true }),
    ).rejects.toThrow(/qemu method but qemu-system-x86_64 was not found/);
  });

  it('resolves the same shared libraries as ldd, Xen libraries of kexec included', async () => {
    for (const bin of [parts.kexec, parts.node]) {
      const ours = (await resolveLibraries(bin)).map((p) => basename(p)).sort();
      expect(ours).toEqual((await lddSet(bin)).filter((n) => n !== 'linux-vdso.so.1'));
    }
    expect((await resolveLibraries(parts.kexec)).some((p) => p.includes('libxenctrl'))).toBe(true);
    expect(await resolveLibraries(parts.busybox)).toEqual([]);
  });

  it('strips node of its symbols and DWARF and the result still runs', async () => {
    const out = join(dir, 'node');
    const size = await stripElf(parts.node, out);
    expect(size).toBeLessThan((await stat(parts.node)).size * 0.9);
    await run('chmod', ['+x', out]);
    const { stdout } = await run(out, ['-p', 'process.versions.node + " " + (6 * 7)']);
    expect(stdout.trim()).toBe(`${process.versions.node} 42`);
  });

  it('runs depmod in a scratch tree when modules.dep is missing, leaving the tree untouched', async () => {
    const mods = join(dir, 'lib/modules', parts.kernelVersion);
    await mkdir(mods, { recursive: true });
    await symlink(join(parts.modulesDir, 'kernel'), join(mods, 'kernel'));
    await copyFile(join(parts.modulesDir, 'modules.builtin'), join(mods, 'modules.builtin'));
    const dep = parseModulesDep(await loadModulesDep(mods));
    expect(dep.get('virtio_net')?.deps).toContain('kernel/drivers/net/net_failover.ko');
    await expect(stat(join(mods, 'modules.dep'))).rejects.toThrow();
  });

  it('writes xz the kernel can unpack: CRC32 check and the x86 BCJ filter', async () => {
    const { compress, writeCpio, readCpio } = await import('../../src/index.js');
    const { buffer } = await import('node:stream/consumers');
    const entries = [{ path: 'bin/busybox', type: 'file' as const, mode: 0o755, source: parts.busybox }];
    const xzBytes = await buffer(compress(writeCpio(entries), 'xz', { level: 1 }));
    await writeFile(join(dir, 'a.cpio.xz'), xzBytes);
    expect(xzBytes.subarray(6, 8)).toEqual(Buffer.from([0x00, 0x01])); // stream flags: check type CRC32
    const { stdout: list } = await run('xz', ['--list', '-vv', join(dir, 'a.cpio.xz')]);
    expect(list).toMatch(/CRC32/);
    expect(list).toMatch(/--x86 --lzma2=/);
    const { stdout } = await run('xz', ['-dc', join(dir, 'a.cpio.xz')], {
      encoding: 'buffer',
      maxBuffer: 1 << 26,
    });
    const [rec] = readCpio(stdout);
    expect(Buffer.from(rec!.data).equals(await readFile(parts.busybox))).toBe(true);
  });

  it('writes /init and the udhcpc script as valid busybox sh', async () => {
    const { initScript, UDHCPC_SCRIPT } = await import('../../src/index.js');
    for (const [name, text] of [
      ['init', initScript()],
      ['udhcpc.script', UDHCPC_SCRIPT],
    ] as const) {
      await writeFile(join(dir, name), text);
      await expect(run(parts.busybox, ['sh', '-n', join(dir, name)])).resolves.toBeDefined();
    }
    await writeFile(join(dir, 'broken'), 'if true; then\n');
    await expect(run(parts.busybox, ['sh', '-n', join(dir, 'broken')])).rejects.toThrow();
  });

  it('decompresses .ko.zst and .ko.xz modules for busybox insmod', async () => {
    const ko = join(parts.modulesDir, 'kernel/drivers/net/ethernet/intel/e1000/e1000.ko');
    const plain = await readFile(ko);
    await writeFile(join(dir, 'e1000.ko.zst'), zstdCompressSync(plain));
    await copyFile(ko, join(dir, 'e1000.ko'));
    await run('xz', ['-k', '--check=crc32', join(dir, 'e1000.ko')]);
    for (const f of ['e1000.ko.zst', 'e1000.ko.xz']) {
      expect(Buffer.from(await moduleBytes(join(dir, f))).equals(plain)).toBe(true);
    }
  });
});
