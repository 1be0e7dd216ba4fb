// QEMU VMs (TCG) on a tap in a test namespace, with the serial console captured.
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { requireTool, type Netns } from './netns.js';

export interface VmOptions {
  ns: Netns;
  tap: string;
  mac: string;
  /** UEFI with OVMF; `firmwarePxe` empties the NIC ROM so OVMF's own PXE client boots. */
  uefi?: { firmwarePxe: boolean; dir: string };
  /** `tcg` (default; KVM cannot run guests on these machines, lab-facts §2) or `kvm`. */
  accel?: 'tcg' | 'kvm';
}

export interface Vm {
  proc: ChildProcess;
  serial(): string;
  waitSerial(re: RegExp, timeoutMs: number): Promise<string>;
  kill(): Promise<void>;
}

export async function startVm(o: VmOptions): Promise<Vm> {
  const qemu = requireTool('qemu-system-x86_64');
  const args = [
    '-accel',
    o.accel ?? 'tcg',
    '-smp',
    '1',
    '-nographic',
    '-monitor',
    'none',
    '-no-reboot',
    '-boot',
    'n',
  ];
  let nic = `virtio-net-pci,netdev=n0,mac=${o.mac},bootindex=1`;
  if (o.uefi) {
    const vars = join(o.uefi.dir, `OVMF_VARS-${o.mac.replace(/:/g, '')}.fd`);
    await copyFile('/usr/share/OVMF/OVMF_VARS_4M.fd', vars);
    args.push('-m', '256', '-machine', 'q35');
    args.push(
      '-drive',
      'if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd',
      '-drive',
      `if=pflash,format=raw,file=${vars}`,
    );
    if (o.uefi.firmwarePxe) nic += ',romfile=';
  } else {
    args.push('-m', '128');
  }
  args.push('-netdev', `tap,id=n0,ifname=${o.tap},script=no,downscript=no`, '-device', nic);
  const proc = spawn('ip', o.ns.exec(qemu, ...args).slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const watchers = new Set<() => void>();
  const onData = (d: Buffer): void => {
    out += d.toString('latin1');
    for (const w of watchers) w();
  };
  proc.stdout.on('data', onData);
  proc.stderr.on('data', onData);
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  return {
    proc,
    serial: () => out,
    waitSerial(re, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const m = re.exec(out);
          if (m) {
            done();
            resolve(m[0]);
          } else if (proc.exitCode !== null) {
            done();
            reject(new Error(`QEMU exited (${proc.exitCode}) before ${re}; console:\n${out.slice(-3000)}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(
            new Error(`no ${re} on the serial console in ${timeoutMs} ms; console:\n${out.slice(-3000)}`),
          );
        }, timeoutMs);
        const done = (): void => {
          clearTimeout(timer);
          watchers.delete(check);
        };
        watchers.add(check);
        check();
      });
    },
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}

/** dnsmasq-base as a stand-in neighbour (RA, TFTP, or the site's DHCP server); never a system service. */
export function startDnsmasq(
  ns: Netns,
  args: string[],
): { proc: ChildProcess; output(): string; stop(): Promise<void> } {
  const dnsmasq = requireTool('dnsmasq', ['/usr/sbin/dnsmasq']);
  const proc = spawn(
    'ip',
    ns
      .exec(
        dnsmasq,
        '--no-daemon',
        '--conf-file=/dev/null',
        '--pid-file=',
        '--port=0',
        '--bind-interfaces',
        '--user=root',
        '--log-facility=-',
        ...args,
      )
      .slice(1),
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  return {
    proc,
    output: () => out,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    },
  };
}
