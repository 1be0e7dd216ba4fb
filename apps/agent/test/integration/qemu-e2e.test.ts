import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { fileURLToPath } from 'node:url';
import {
  compress,
  defaultSearchRoots,
  findHostParts,
  writeCpio,
  type CpioEntry,
} from '@boottorrent/initrd-builder';
import { afterAll, describe, expect, it } from 'vitest';
import { startVm, type Vm } from '@boottorrent/testing/lab';
import { directBootImage } from './boot-image.js';
import { makeWorld, type World } from './world.js';

const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
let dir: string | undefined;
let world: World | undefined;
let vm: Vm | undefined;
afterAll(async () => {
  await vm?.stop();
  await world?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A target OS initramfs: busybox prints a marker with its cmdline and a file from the second initrd. */
async function targetInitrds(busybox: string): Promise<[Buffer, Buffer]> {
  const init =
    '#!/bin/busybox sh\n/bin/busybox mount -t proc proc /proc\n' +
    'echo "TARGET-KEXEC-MARKER $(/bin/busybox cat /second.txt) cmdline: $(/bin/busybox cat /proc/cmdline)"\n' +
    '/bin/busybox poweroff -f\n';
  const first: CpioEntry[] = [
    { path: 'dev', type: 'dir' },
    { path: 'dev/console', type: 'chardev', major: 5, minor: 1 },
    { path: 'proc', type: 'dir' },
    { path: 'bin', type: 'dir' },
    { path: 'bin/busybox', type: 'file', mode: 0o755, source: busybox },
    { path: 'init', type: 'file', mode: 0o755, source: Buffer.from(init) },
  ];
  const second: CpioEntry[] = [
    { path: 'second.txt', type: 'file', source: Buffer.from('FROM-SECOND-INITRD') },
  ];
  return [
    await buffer(compress(writeCpio(first), 'gzip')),
    await buffer(compress(writeCpio(second), 'zstd')),
  ];
}

describe('agent in phase-1 under QEMU (TCG, user-mode network, host = 10.0.2.2)', () => {
  it('runs a bin OS, survives a kernel that kexec refuses, then downloads a kernel OS from the seeder via the tracker and kexecs into it', async () => {
    dir = await mkdtemp(join(tmpdir(), 'bt-agent-e2e-'));
    const parts = await findHostParts({ searchRoots: await defaultSearchRoots(REPO) });
    const [initA, initB] = await targetInitrds(parts.busybox);
    world = await makeWorld({
      // QEMU's user network maps 10.0.2.2 to the host's 127.0.0.1: everything stays on loopback.
      host: '127.0.0.1',
      reach: '10.0.2.2',
      manifest: { timeout: -1 },
      oss: [
        {
          name: 'hello',
          dispname: 'Hello Binary',
          method: 'bin',
          files: { 'hello.sh': '#!/bin/sh\necho "BIN-MARKER $* in $(pwd)"\n' },
          bin: { bin: 'hello.sh', args: ['from', 'agent'] },
        },
        {
          name: 'debian',
          dispname: 'Debian Kernel',
          method: 'kexec',
          files: { vmlinuz: await readFile(parts.kernel), 'a.cpio.gz': initA, 'b.cpio.zst': initB },
          kexec: {
            kernel: 'vmlinuz',
            initrds: ['a.cpio.gz', 'b.cpio.zst'],
            cmdline: 'console=ttyS0 quiet bt.target=yes',
          },
        },
        {
          // Downloads fine, then `kexec -l` refuses it: the error path of the loader, for real.
          name: 'junk',
          dispname: 'Junk Kernel',
          method: 'kexec',
          files: { vmlinuz: 'This text file is not a Linux kernel.\n'.repeat(100) },
          kexec: { kernel: 'vmlinuz', initrds: [], cmdline: '' },
        },
      ],
    });
    // zstd here (the initrd-builder QEMU test boots xz, the default): fast to build, and covered too.
    const image = await directBootImage(dir, world, parts);

    vm = await startVm({
      kernel: image.kernel,
      initrd: image.initrd,
      append: 'console=ttyS0 quiet panic=-1 bt.os=hello',
      memoryMb: 1024,
      nic: {},
    });
    await vm.waitFor(/BIN-MARKER from agent in \/run\/boottorrent\/oss\/hello/, 300_000);
    await vm.waitFor(/Hello Binary exited with code 0[^]*Up\/Down to choose/, 60_000);

    // Up wraps to the last entry. kexec's complaint comes back as one line naming the OS, no stack
    // trace, and the menu returns with the same words as its notice.
    vm.send('\x1b[A');
    await vm.waitFor(/> Junk Kernel/, 30_000);
    const junkFrom = vm.output().length;
    vm.send('\r');
    const [, line] = await vm.waitFor(
      /boottorrent: could not boot Junk Kernel: ([^\r\n]*)\r*\n[^]*Could not boot Junk Kernel: [^]*Up\/Down to choose/,
      180_000,
    );
    expect(line).toBe('kexec -l failed: Cannot determine the file type of /run/boottorrent/oss/junk/vmlinuz');
    const afterJunk = vm.output().slice(junkFrom);
    expect(afterJunk.match(/boottorrent: could not boot/g)).toHaveLength(1);
    expect(afterJunk).not.toMatch(/^\s+at |crashed|Error:/m);

    vm.send('\x1b[B');
    await vm.waitFor(/> Debian Kernel/, 30_000);
    vm.send('\r');
    await vm.waitFor(/Downloaded Debian Kernel in/, 180_000);
    const m = await vm.waitFor(/TARGET-KEXEC-MARKER ([^\r\n]*)\r?\n/, 180_000);
    expect(m[1]).toMatch(/^FROM-SECOND-INITRD cmdline: console=ttyS0 quiet bt\.target=yes/);
    await vm.exited;
    // Reports are asynchronous; by the time the target has booted, the junk kernel's error is in.
    const junkError = world.posts.find((p) => p.body.os === 'junk' && p.body.phase === 'error');
    expect(junkError?.body.message).toBe(line);
    const phases = world.posts.filter((p) => p.body.os === 'debian').map((p) => p.body.phase);
    expect(phases).toEqual(expect.arrayContaining(['downloading', 'loading', 'booted']));
    const booted = world.posts.find((p) => p.body.os === 'debian' && p.body.phase === 'booted')!;
    expect(booted.url).toBe('/api/v1/clients/52%3A54%3A00%3A12%3A34%3A56/status');
    expect(booted.body.ip).toBe('10.0.2.15');
    const size = world.manifest.oss[1]!.size;
    expect(Number(booted.body.bytesFromServer) + Number(booted.body.bytesFromPeers)).toBeGreaterThanOrEqual(
      size,
    );
  }, 600_000);
});
