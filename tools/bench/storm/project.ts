// The storm benchmark's project: one kexec OS of `sizeMib` (a kernel and an initrd of random bytes:
// the agent downloads and checks them, the kexec stub reads them, nothing boots them) and a
// `machines:` entry that boots it at once on every storm client (bt.os= and bt.menu=0 in each
// client's boot script), so no menu waits. DHCP and TFTP are off: the clients start at the boot script.
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';

/** Every storm client's MAC starts with this (the `machines:` pattern is `${MAC_PREFIX}*`). */
export const MAC_PREFIX = '02:00:00:';
/** The OS folder's name under oss/. */
export const OS_NAME = 'storm';
/** Size of the OS's kernel; the initrd is the rest. */
const KERNEL_BYTES = 4 << 20;

async function randomFile(path: string, bytes: number): Promise<void> {
  const ws = createWriteStream(path);
  for (let left = bytes; left > 0; left -= 1 << 20) {
    if (!ws.write(randomBytes(Math.min(left, 1 << 20)))) await once(ws, 'drain');
  }
  ws.end();
  await once(ws, 'finish');
}

/** Writes config.yaml and oss/storm/ into `dir` (an empty folder). */
export async function writeStormProject(
  dir: string,
  o: {
    hostIp: string;
    httpPort: number;
    sizeMib: number;
    seedTime: number;
    seedWhileNeeded: boolean;
    seedTimeMax: number;
  },
): Promise<void> {
  const os = join(dir, 'oss', OS_NAME);
  await mkdir(os, { recursive: true });
  await writeFile(
    join(dir, 'config.yaml'),
    [
      `general: { host_ip: ${o.hostIp}, timeout: 10, seed_time: ${o.seedTime}, seed_while_needed: ${o.seedWhileNeeded}, seed_time_max: ${o.seedTimeMax} }`,
      'dhcp: { enable: false, interface: eth0 }',
      'tftp: { enable: false }',
      `http: { port: ${o.httpPort} }`,
      'phase1: { compression: xz }',
      'machines:',
      `  - { mac: "${MAC_PREFIX}*", os: ${OS_NAME}, menu: false }`,
      '',
    ].join('\n'),
  );
  await writeFile(
    join(os, 'config.yaml'),
    'dispname: Storm OS\nmethod: kexec\nkernel: vmlinuz\ninitrd: initrd.img\ncmdline: console=ttyS0\n',
  );
  const total = o.sizeMib << 20;
  await randomFile(join(os, 'vmlinuz'), Math.min(KERNEL_BYTES, total / 2));
  await randomFile(join(os, 'initrd.img'), total - Math.min(KERNEL_BYTES, total / 2));
}
