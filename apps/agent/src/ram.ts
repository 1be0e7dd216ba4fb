import type { ManifestOs } from '@boottorrent/config';

/** Room kept free for Node, the kernel and page tables when deciding whether an OS fits. @default 96 MiB */
export const RAM_MARGIN = 96 * 1024 * 1024;

/**
 * How much larger an initramfs is once the kexec'd kernel has unpacked it into its rootfs, over its
 * size as downloaded: a Debian 12 root filesystem as a zstd -12 cpio unpacks to 3.7× (tools/oses/
 * debian-live.sh: 34.6 MB → 128 MB), gzip less; an uncompressed cpio to 1×. @default 4
 */
export const INITRD_EXPANSION = 4;

/** QEMU's own RAM beside the guest's: the binary, its libraries, TCG's code buffer. @default 64 MiB */
export const QEMU_OVERHEAD = 64 * 1024 * 1024;

/** The guest RAM qemu-system-x86_64 gives when `-m` is absent. @default 128 MiB */
export const QEMU_DEFAULT_MEMORY = 128 * 1024 * 1024;

const UNITS: Record<string, number> = { '': 2 ** 20, B: 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/**
 * The guest RAM a qemu command line asks for, in bytes: the last `-m`/`--m` (`-m 512`, `-m 1G`,
 * `-m size=2G,slots=2`, `-m=256`); a bare number means MiB, as QEMU reads it. Undefined when `-m`
 * holds something QEMU would refuse.
 */
export function qemuMemory(args: readonly string[]): number | undefined {
  let value: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const eq = /^--?m=(.*)$/.exec(a);
    if (eq) value = eq[1];
    else if (a === '-m' || a === '--m') value = args[++i];
  }
  if (value === undefined) return QEMU_DEFAULT_MEMORY;
  const size = /(?:^|,)size=([^,]+)/.exec(value)?.[1] ?? value.split(',')[0]!;
  const m = /^(\d+(?:\.\d+)?)([BKMGT]?)i?B?$/i.exec(size.trim());
  if (!m) return undefined;
  return Math.ceil(Number(m[1]) * UNITS[m[2]!.toUpperCase()]!);
}

/** Bytes an OS needs in RAM before it is downloaded, and the parts of the sum for the message. */
export interface RamNeed {
  bytes: number;
  /** What the sum is made of, for the message: files, kexec copy, unpacked initramfs, guest -m, margin. */
  parts: [what: string, bytes: number][];
}

/**
 * What loading `os` takes, by method (the manifest gives the OS folder's total size, which for a
 * kexec OS is its kernel plus its initrds):
 * - kexec: the larger of the two peaks. In phase-1: the files in tmpfs, the kernel's copy of the
 *   segments (`kexec -l`) and, with several initrds, their joined copy. In the new kernel: the
 *   initrds as loaded plus what they unpack to ({@link INITRD_EXPANSION}).
 * - qemu: the files, the guest's `-m` ({@link qemuMemory}) and QEMU itself ({@link QEMU_OVERHEAD}).
 * - bin: the files.
 * Each plus {@link RAM_MARGIN}.
 */
export function ramNeeded(os: Pick<ManifestOs, 'size' | 'method' | 'kexec' | 'qemu'>): RamNeed {
  let parts: RamNeed['parts'] = [['files', os.size]];
  if (os.method === 'kexec') {
    const inPhase1: RamNeed['parts'] = [...parts, ['kexec copy', os.size]];
    if ((os.kexec?.initrds.length ?? 0) > 1) inPhase1.push(['joined initrds', os.size]);
    const inTarget: RamNeed['parts'] = [
      ['kernel + initrds', os.size],
      ['unpacked initramfs', os.size * INITRD_EXPANSION],
    ];
    parts = sum(inTarget) > sum(inPhase1) ? inTarget : inPhase1;
  } else if (os.method === 'qemu') {
    parts.push(['guest -m', qemuMemory(os.qemu?.args ?? []) ?? QEMU_DEFAULT_MEMORY]);
    parts.push(['qemu', QEMU_OVERHEAD]);
  }
  parts.push(['margin', RAM_MARGIN]);
  return { bytes: sum(parts), parts };
}

const sum = (parts: RamNeed['parts']) => parts.reduce((s, [, b]) => s + b, 0);
