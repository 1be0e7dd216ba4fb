import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { copyFile, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { compress, findHostParts, writeCpio, type CpioEntry } from '@boottorrent/initrd-builder';
import { hostSearchRoots } from '@boottorrent/server';

/** What the demo OS prints on its serial console once it runs; the lab waits for it. */
export const TARGET_MARKER = 'BOOTTORRENT-TARGET-OK';

export interface DemoOptions {
  dir: string;
  address: string;
  prefix: number;
  /** Menu countdown on the clients. */
  timeout: number;
  seedTime: number;
  /** Extra bytes in the demo OS, so the swarm has something to share. */
  padding: number;
  hostRoots?: string[];
}

/**
 * The lab's demo project: a small Linux (the host's kernel + a busybox initramfs that prints
 * TARGET_MARKER with its uptime and powers off) booted with kexec, plus an example `bin` OS.
 * Rewritten only when its inputs change, so the torrent hashes stay cached between runs.
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
      '  interface: br0',
      `  range: { start: ${base}.100, end: ${base}.199 }`,
      `  netmask: ${prefixToMask(o.prefix)}`,
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
    `echo "${TARGET_MARKER} os=demo-linux uptime=$(/bin/busybox cut -d' ' -f1 /proc/uptime)"`,
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

export function prefixToMask(prefix: number): string {
  const n = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
}
