// QEMU (TCG) with the serial console on stdio: output captured, keys sent, killed by PID on stop.
import { spawn, type ChildProcess } from 'node:child_process';
import { watchOutput } from './output.js';

export interface Vm {
  child: ChildProcess;
  output(): string;
  send(text: string): void;
  waitFor(re: RegExp, ms: number): Promise<RegExpMatchArray>;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

export function bootVm(opts: {
  kernel: string;
  initrd: string;
  append: string;
  memory?: number;
  nic?: string;
}): Vm {
  const args = [
    ...['-accel', 'tcg', '-m', String(opts.memory ?? 1024), '-smp', '1', '-nographic', '-monitor', 'none'],
    ...['-no-reboot', '-kernel', opts.kernel, '-initrd', opts.initrd, '-append', opts.append],
    ...['-netdev', 'user,id=n0', '-device', `${opts.nic ?? 'virtio-net-pci'},netdev=n0`],
  ];
  const child = spawn('qemu-system-x86_64', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const watch = watchOutput(child, { what: 'QEMU', encoding: 'latin1' });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    child,
    output: watch.output,
    send: (text) => child.stdin!.write(text),
    waitFor: watch.waitFor,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}
