import { describe, expect, it } from 'vitest';
import { qemuMemory, ramNeeded } from './ram.js';

const MiB = 2 ** 20;
const margin = 96 * MiB;

describe('qemuMemory', () => {
  it('reads -m as QEMU does: a bare number is MiB, suffixes K/M/G, size= and the last one wins', () => {
    expect(qemuMemory(['-m', '16'])).toBe(16 * MiB);
    expect(qemuMemory(['-m', '1G', '-nographic'])).toBe(2 ** 30);
    expect(qemuMemory(['-m', '512M'])).toBe(512 * MiB);
    expect(qemuMemory(['-m', 'size=2G,slots=2,maxmem=4G'])).toBe(2 * 2 ** 30);
    expect(qemuMemory(['-m=256'])).toBe(256 * MiB);
    expect(qemuMemory(['-m', '64', '-hda', 'x.img', '-m', '32'])).toBe(32 * MiB);
    expect(qemuMemory(['-m', '1.5G'])).toBe(1.5 * 2 ** 30);
  });

  it("takes QEMU's default of 128 MiB without -m, and gives up on a value QEMU would refuse", () => {
    expect(qemuMemory(['-nographic', '-hda', 'boot.img'])).toBe(128 * MiB);
    expect(qemuMemory(['-m', 'lots'])).toBeUndefined();
  });
});

describe('ramNeeded', () => {
  it('bin: its files and the margin', () => {
    expect(ramNeeded({ size: 100 * MiB, method: 'bin' }).bytes).toBe(100 * MiB + margin);
  });

  it("qemu: its files, the guest's -m, QEMU itself and the margin", () => {
    const need = ramNeeded({ size: 1 * MiB, method: 'qemu', qemu: { args: ['-m', '512', '-nographic'] } });
    expect(need.bytes).toBe(1 * MiB + 512 * MiB + 64 * MiB + margin);
    expect(need.parts.map(([what]) => what)).toEqual(['files', 'guest -m', 'qemu', 'margin']);
    // Without -m the guest gets QEMU's default, 128 MiB.
    expect(ramNeeded({ size: 1 * MiB, method: 'qemu', qemu: { args: [] } }).bytes).toBe(
      1 * MiB + 128 * MiB + 64 * MiB + margin,
    );
  });

  it('kexec: the kernel and initrds plus the initramfs unpacked to four times its size', () => {
    // 50 MiB downloaded: after kexec it is in RAM as loaded (50) and unpacked (200); that beats
    // phase-1's peak of the tmpfs copy and the kernel's copy (100), even with a joined initrd (150).
    const os = { size: 50 * MiB, method: 'kexec' as const };
    const one = ramNeeded({ ...os, kexec: { kernel: 'k', initrds: ['i'], cmdline: '' } });
    expect(one.bytes).toBe(50 * MiB + 200 * MiB + margin);
    expect(one.parts.map(([what]) => what)).toEqual(['kernel + initrds', 'unpacked initramfs', 'margin']);
    const two = ramNeeded({ ...os, kexec: { kernel: 'k', initrds: ['a', 'b'], cmdline: '' } });
    expect(two.bytes).toBe(one.bytes);
  });

  it('asks more of a kexec OS than of the same bytes run as a program', () => {
    const size = 200 * MiB;
    expect(ramNeeded({ size, method: 'kexec' }).bytes).toBeGreaterThan(
      ramNeeded({ size, method: 'bin' }).bytes,
    );
  });
});
