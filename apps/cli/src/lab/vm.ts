import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { stopChild } from './exec.js';
import type { LabNetwork } from './netns.js';

export const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
export const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';

export interface VmOptions {
  index: number;
  net: LabNetwork;
  mac: string;
  workDir: string;
  memoryMb: number;
  uefi: boolean;
  accel: 'tcg' | 'kvm';
  /** NIC model: virtio-net-pci (default) or e1000. */
  nic: string;
}

/** A QEMU VM on one of the lab's taps, PXE-booting with its own firmware; serial console to a file. */
export interface Vm {
  index: number;
  mac: string;
  serialLog: string;
  child: ChildProcess;
  /** Resolves with the exit code when QEMU ends. */
  exited: Promise<number | null>;
  /** Serial output so far. */
  console(): Promise<string>;
  stop(): Promise<void>;
}

export async function startVm(o: VmOptions): Promise<Vm> {
  const serialLog = join(o.workDir, `vm${o.index}.serial.log`);
  // A log left by an earlier run in the same work dir would be read as this VM's console until QEMU
  // truncates it (it holds the earlier boot's marker: the demo "booted" in 0.0 s without a VM).
  await rm(serialLog, { force: true });
  const args = [
    '-accel',
    o.accel,
    '-m',
    String(o.memoryMb),
    '-smp',
    '1',
    '-display',
    'none',
    '-monitor',
    'none',
    '-no-reboot',
    '-serial',
    `file:${serialLog}`,
    '-netdev',
    `tap,id=n0,ifname=${o.net.taps[o.index]},script=no,downscript=no`,
    '-device',
    `${o.nic},netdev=n0,mac=${o.mac},bootindex=1`,
  ];
  if (o.uefi) {
    const vars = join(o.workDir, `vm${o.index}.vars.fd`);
    await copyFile(OVMF_VARS, vars);
    args.push(
      '-machine',
      'q35',
      '-drive',
      `if=pflash,format=raw,readonly=on,file=${OVMF_CODE}`,
      '-drive',
      `if=pflash,format=raw,file=${vars}`,
    );
  } else {
    args.push('-boot', 'n');
  }
  const [cmd, full] = o.net.exec('qemu-system-x86_64', args);
  const child = spawn(cmd, full, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    index: o.index,
    mac: o.mac,
    serialLog,
    child,
    exited,
    async console() {
      const f = await open(serialLog, 'r').catch(() => undefined);
      if (!f) return '';
      try {
        return (await f.readFile()).toString('latin1') + (stderr ? `\n[qemu stderr] ${stderr}` : '');
      } finally {
        await f.close();
      }
    },
    stop: () => stopChild(child, 3000),
  };
}
