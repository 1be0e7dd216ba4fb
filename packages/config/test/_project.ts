import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach } from 'vitest';

const made: string[] = [];
afterEach(async () => {
  await Promise.all(made.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** Writes a project tree into a fresh temp dir (removed after the test). `->target` makes a symlink. */
export async function project(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bt-config-'));
  made.push(dir);
  for (const [rel, text] of Object.entries(files)) {
    const path = join(dir, rel);
    await mkdir(dirname(path), { recursive: true });
    if (text.startsWith('->')) await symlink(text.slice(2), path);
    else await writeFile(path, text);
  }
  return dir;
}

export const GOOD_CONFIG = `general:
  timeout: 5
  default_os: tiny
  seed_time: 10
  host_ip: 10.77.0.1
dhcp:
  interface: br0
  range:
    start: 10.77.0.100
    end: 10.77.0.199
`;

export const TINY_OS = {
  'oss/tiny/config.yaml':
    'dispname: Tiny Linux\nmethod: kexec\nkernel: vmlinuz\ninitrd: initrd.img\ncmdline: console=ttyS0\n',
  'oss/tiny/vmlinuz': 'kernel',
  'oss/tiny/initrd.img': 'initrd',
};
