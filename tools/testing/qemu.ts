// QEMU (TCG) with the serial console on stdio: output captured, keys sent, killed by PID on stop.
import { spawn, type ChildProcess } from 'node:child_process';

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
  let out = '';
  const waiters = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d.toString('latin1');
    for (const w of waiters) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    child,
    output: () => out,
    send: (text) => child.stdin!.write(text),
    waitFor(re, ms) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = out.match(re);
          if (m) {
            waiters.delete(check);
            clearTimeout(t);
            resolve(m);
          }
        };
        const t = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out after ${ms} ms waiting for ${re}; console:\n${out.slice(-3000)}`));
        }, ms);
        waiters.add(check);
        check();
        void exited.then(() => {
          if (waiters.has(check)) {
            waiters.delete(check);
            clearTimeout(t);
            reject(new Error(`QEMU exited before ${re}; console:\n${out.slice(-3000)}`));
          }
        });
      });
    },
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}
