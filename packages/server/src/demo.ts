import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { copyFile, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { compress, findHostParts, writeCpio, type CpioEntry } from '@boottorrent/initrd-builder';
import { hostSearchRoots } from './paths.js';

/** What the demo OS prints on its serial console once it runs (`boottorrent lab` waits for it). */
export const DEMO_MARKER = 'BOOTTORRENT-TARGET-OK';

/** Options of {@link writeDemoProject}. */
export interface DemoOptions {
  /** The project directory; made if missing. */
  dir: string;
  /** `general.host_ip`: the server's address on the boot network. */
  address: string;
  /** `dhcp.netmask`; the DHCP range is `.100`–`.199` of the address's /24. */
  netmask: string;
  /** `dhcp.interface`. @default 'br0' (the lab's bridge) */
  interface?: string;
  /** `dhcp.mode`; left out of the config when not given (its default, `server`). */
  dhcpMode?: 'server' | 'proxy';
  /** `false` writes `tracker: { enable: false }`. @default true */
  tracker?: boolean;
  /** `general.timeout`: menu countdown on the clients in seconds (-1 waits for a key). */
  timeout: number;
  /** `general.seed_time`: seconds each client seeds before loading its OS. */
  seedTime: number;
  /** Extra bytes in the demo OS (`padding.bin`), so the swarm has something to share. */
  padding: number;
  /** More roots searched for the host's kernel and busybox (see {@link hostSearchRoots}). */
  hostRoots?: string[];
}

/**
 * A project that boots anywhere this server runs: a small Linux (the host's kernel + a busybox
 * initramfs that prints {@link DEMO_MARKER} with its uptime and powers off) booted with kexec, plus
 * an example `bin` OS. `boottorrent lab` boots it; it is also a quick way to try an embedded server.
 * Files are rewritten only when their inputs change, so the torrent hashes stay cached between runs.
 */
export async function writeDemoProject(o: DemoOptions): Promise<void> {
  const parts = await findHostParts({ searchRoots: await hostSearchRoots(o.hostRoots) });
  const os = join(o.dir, 'oss/demo-linux');
  await mkdir(os, { recursive: true });
  const base = o.address.split('.').slice(0, 3).join('.');
  await writeIfChanged(
    join(o.dir, 'config.yaml'),
    [
      '# The boottorrent lab demo project (generated).',
      'general:',
      `  timeout: ${o.timeout}`,
      '  default_os: demo-linux',
      `  seed_time: ${o.seedTime}`,
      `  host_ip: ${o.address}`,
      'dhcp:',
      `  interface: ${o.interface ?? 'br0'}`,
      ...(o.dhcpMode ? [`  mode: ${o.dhcpMode}`] : []),
      `  range: { start: ${base}.100, end: ${base}.199 }`,
      `  netmask: ${o.netmask}`,
      ...(o.tracker === false ? ['tracker:', '  enable: false'] : []),
      '',
    ].join('\n'),
  );
  await writeIfChanged(
    join(os, 'config.yaml'),
    'dispname: Demo Linux (kexec)\nmethod: kexec\nkernel: vmlinuz\ninitrd: target.cpio.gz\ncmdline: console=ttyS0,115200n8 quiet panic=5\n',
  );
  const kernel = join(os, 'vmlinuz');
  const k = await stat(kernel).catch(() => undefined);
  if (!k || k.size !== (await stat(parts.kernel)).size) await copyFile(parts.kernel, kernel);
  const init = [
    '#!/bin/sh',
    '/bin/busybox mount -t proc proc /proc',
    `echo "${DEMO_MARKER} os=demo-linux uptime=$(/bin/busybox cut -d' ' -f1 /proc/uptime)"`,
    '/bin/busybox sleep 2',
    '/bin/busybox poweroff -f',
    '',
  ].join('\n');
  const entries: CpioEntry[] = [
    { path: 'bin', type: 'dir' },
    { path: 'proc', type: 'dir' },
    { path: 'dev', type: 'dir' },
    { path: 'dev/console', type: 'chardev', major: 5, minor: 1 },
    { path: 'bin/busybox', type: 'file', mode: 0o755, source: parts.busybox },
    { path: 'bin/sh', type: 'symlink', target: 'busybox' },
    { path: 'init', type: 'file', mode: 0o755, source: Buffer.from(init) },
  ];
  const key = createHash('sha256')
    .update(init)
    .update(String((await stat(parts.busybox)).size))
    .digest('hex');
  const initrd = join(os, 'target.cpio.gz');
  if ((await readFile(join(os, '.target-key'), 'utf8').catch(() => '')) !== key) {
    await pipeline(compress(writeCpio(entries), 'gzip'), createWriteStream(initrd));
    await writeFile(join(os, '.target-key'), key);
  }
  const padding = join(os, 'padding.bin');
  if ((await stat(padding).catch(() => undefined))?.size !== o.padding) {
    await rm(padding, { force: true });
    if (o.padding > 0) await writeFile(padding, deterministicBytes(o.padding));
  }
  const hello = join(o.dir, 'oss/hello');
  await mkdir(hello, { recursive: true });
  await writeIfChanged(join(hello, 'config.yaml'), 'dispname: Hello (bin)\nmethod: bin\nbin: hello.sh\n');
  await writeIfChanged(join(hello, 'hello.sh'), '#!/bin/sh\necho "Hello from a bin OS"\n', 0o755);
}

async function writeIfChanged(path: string, text: string, mode?: number) {
  if ((await readFile(path, 'utf8').catch(() => null)) === text) return;
  await writeFile(path, text, mode === undefined ? undefined : { mode });
}

/** Incompressible but reproducible bytes (SHA-256 in counter mode). */
function deterministicBytes(n: number): Buffer {
  const out = Buffer.alloc(n);
  for (let off = 0, i = 0; off < n; off += 32, i++) {
    createHash('sha256').update(`boottorrent-demo-${i}`).digest().copy(out, off);
  }
  return out;
}
