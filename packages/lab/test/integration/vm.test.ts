// Real QEMU (TCG), kept cheap: firmware and a kernel's first seconds, never a full boot.
import { readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetns, randomMac, startVm, type Netns } from '../../src/index.js';

const REPO = fileURLToPath(new URL('../../../../', import.meta.url));

/** A Debian kernel: tools/setup.sh unpacks one under .cache/deb (or the host's own /boot). */
function kernel(): string {
  for (const dir of [join(REPO, '.cache/deb/linux-image/boot'), '/boot']) {
    const found = (() => {
      try {
        return readdirSync(dir).find((f) => f.startsWith('vmlinuz-'));
      } catch {
        return undefined;
      }
    })();
    if (found) return join(dir, found);
  }
  throw new Error('no kernel in .cache/deb/linux-image/boot or /boot: run tools/setup.sh');
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bt-lab-vm-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('startVm', { timeout: 120_000 }, () => {
  it('boots a kernel directly, its console in memory and in a file, and reports how QEMU ended', async () => {
    const consoleFile = join(dir, 'direct.serial.log');
    // No initrd: the kernel panics for want of a root fs; panic=-1 reboots and -no-reboot ends QEMU.
    await using vm = await startVm({
      kernel: kernel(),
      append: 'console=ttyS0 panic=-1 bt.lab.test=1',
      memoryMb: 256,
      consoleFile,
    });
    expect(vm.pid).toBe(vm.child.pid);
    // Up to the line's end: the console arrives in chunks, and a match must not stop mid-line.
    const [line] = await vm.waitFor(/Command line: [^\r\n]*\r?\n/, 90_000);
    expect(line).toContain('bt.lab.test=1');
    await vm.waitFor(/Kernel panic/, 90_000);
    const err = await vm.waitFor(/a line that never comes/, 90_000).catch((e) => e);
    expect(err).toMatchObject({ code: 'LAB_EXITED', message: expect.stringContaining('QEMU exited (0)') });
    expect(await vm.exited).toBe(0);
    await vm.stop();
    expect(await readFile(consoleFile, 'latin1')).toBe(vm.output());
  });

  it("PXE-boots from a tap in a namespace with the NIC's iPXE ROM (SeaBIOS on the serial console)", async () => {
    let ns: Netns | undefined;
    try {
      ns = await createNetns({ prefix: 'btlabvm', bridge: { addresses: ['10.77.9.1/24'] }, taps: 1 });
      const mac = randomMac();
      await using vm = await startVm({ netns: ns, nic: { tap: ns.taps[0], mac }, memoryMb: 128 });
      await vm.waitFor(/SeaBIOS/, 60_000);
      // iPXE names the NIC by the MAC we gave it and starts asking for an address on the bridge.
      await vm.waitFor(new RegExp(`net0: ${mac}`), 90_000);
      const pids = await ns.run('ip', ['netns', 'pids', ns.name]);
      expect(pids.split('\n')).toContain(String(vm.pid));
      await vm.stop();
      expect(vm.child.exitCode !== null || vm.child.signalCode !== null).toBe(true);
    } finally {
      await ns?.close();
    }
  });

  it('photographs the screen through the monitor socket', async () => {
    await using vm = await startVm({ name: 'screen', screen: true, memoryMb: 64, workDir: dir });
    await vm.waitFor(/SeaBIOS/, 60_000);
    const ppm = join(dir, 'screen.ppm');
    await vm.screendump(ppm);
    const image = await readFile(ppm);
    // A binary PPM: "P6", width, height, 255, then width × height × 3 bytes of pixels.
    const m = /^P6\n(\d+) (\d+)\n255\n/.exec(image.toString('latin1', 0, 32))!;
    expect(m).not.toBeNull();
    expect(image.length).toBe(m[0].length + Number(m[1]) * Number(m[2]) * 3);
    await expect(vm.screendump(join(dir, 'a b.ppm'))).rejects.toMatchObject({ code: 'LAB_BAD_OPTION' });
    // The monitor takes key names; what is not one is refused before it reaches QEMU.
    await vm.sendKey('ctrl-alt-f1');
    await expect(vm.sendKey('ret; quit')).rejects.toMatchObject({ code: 'LAB_BAD_OPTION' });
    await expect(vm.sendKey('nosuchkey')).rejects.toMatchObject({ code: 'LAB_MONITOR' });
  });

  it('refuses a screendump without a screen, and stops twice without complaint', async () => {
    const vm = await startVm({ memoryMb: 64 });
    await expect(vm.screendump(join(dir, 'x.ppm'))).rejects.toMatchObject({
      code: 'LAB_MONITOR',
      hint: 'start it with screen: true',
    });
    await expect(vm.sendKey('ret')).rejects.toMatchObject({ code: 'LAB_MONITOR' });
    await Promise.all([vm.stop(), vm.close()]);
    await vm.stop();
  });

  it('stops the VM when its signal is aborted', async () => {
    const ac = new AbortController();
    const vm = await startVm({ memoryMb: 64, signal: ac.signal });
    await vm.waitFor(/SeaBIOS/, 60_000);
    ac.abort();
    await vm.exited;
    expect(vm.stderr()).toMatch(/terminating on signal 15/); // QEMU's own word for our SIGTERM
  });
});
