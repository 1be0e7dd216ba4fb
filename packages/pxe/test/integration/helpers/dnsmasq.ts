// dnsmasq-base as a stand-in neighbour (RA, TFTP, or the site's DHCP server); never a system service.
import type { ChildProcess } from 'node:child_process';
import { requireTool, type Netns } from './netns.js';
import { stopProcess } from '@boottorrent/testing/lab';

export function startDnsmasq(
  ns: Netns,
  args: string[],
): { proc: ChildProcess; output(): string; stop(): Promise<void> } {
  const dnsmasq = requireTool('dnsmasq', { paths: ['/usr/sbin/dnsmasq'], debianPackage: 'dnsmasq-base' });
  const proc = ns.spawn(
    dnsmasq,
    [
      '--no-daemon',
      '--conf-file=/dev/null',
      '--pid-file=',
      '--port=0',
      '--bind-interfaces',
      '--user=root',
      '--log-facility=-',
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return { proc, output: () => out, stop: () => stopProcess(proc) };
}
