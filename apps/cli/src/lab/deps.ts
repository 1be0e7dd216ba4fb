import { access, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findHostParts } from '@boottorrent/initrd-builder';
import { OVMF_CODE, runCommand as run } from '@boottorrent/lab';
import { CliError, CliErrorCode } from '../command.js';
import { cacheHome, hostSearchRoots } from '@boottorrent/server';

interface Requirement {
  what: string;
  pkg: string;
  present: () => Promise<boolean>;
}

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );
const onPath = async (bin: string) => {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':').concat('/usr/sbin', '/sbin')) {
    if (await exists(join(dir, bin))) return true;
  }
  return false;
};

function requirements(uefi: boolean): Requirement[] {
  return [
    { what: 'qemu-system-x86_64', pkg: 'qemu-system-x86', present: () => onPath('qemu-system-x86_64') },
    {
      what: "QEMU's iPXE NIC ROMs",
      pkg: 'ipxe-qemu',
      present: () => exists('/usr/lib/ipxe/qemu/efi-virtio.rom'),
    },
    { what: 'iPXE boot loaders', pkg: 'ipxe', present: () => exists('/usr/lib/ipxe/undionly.kpxe') },
    {
      what: 'dnsmasq (IPv6 router advertisements in the lab)',
      pkg: 'dnsmasq-base',
      present: () => onPath('dnsmasq'),
    },
    { what: 'ip (iproute2)', pkg: 'iproute2', present: () => onPath('ip') },
    { what: 'kexec', pkg: 'kexec-tools', present: () => onPath('kexec') },
    { what: 'depmod', pkg: 'kmod', present: () => onPath('depmod') },
    { what: 'xz (phase-1 compression)', pkg: 'xz-utils', present: () => onPath('xz') },
    ...(uefi ? [{ what: 'OVMF (UEFI firmware)', pkg: 'ovmf', present: () => exists(OVMF_CODE) }] : []),
  ];
}

/** Debian packages unpacked (never installed) for phase-1: a kernel image and a static busybox. */
const UNPACKED = { 'linux-image': 'linux-image-amd64', 'busybox-static': 'busybox-static' } as const;

/**
 * Checks what the lab needs. Installs nothing unless `install` is set: then apt-get installs the
 * packages and the kernel and busybox-static are unpacked under ~/.cache/boottorrent/deb.
 */
export async function ensureLabDeps(o: {
  uefi: boolean;
  install: boolean;
  hostRoots?: string[];
  log: (s: string) => void;
}) {
  const missing: Requirement[] = [];
  for (const r of requirements(o.uefi)) if (!(await r.present())) missing.push(r);
  if (missing.length && !o.install) {
    throw new CliError(CliErrorCode.MissingDeps, `the lab needs ${missing.map((m) => m.what).join(', ')}`, {
      hint: `apt-get install ${[...new Set(missing.map((m) => m.pkg))].join(' ')}   (or: boottorrent lab --install-deps)`,
    });
  }
  if (missing.length) {
    const pkgs = [...new Set(missing.map((m) => m.pkg))];
    o.log(`installing: ${pkgs.join(' ')}`);
    await run('apt-get', ['update', '-qq']);
    await run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...pkgs], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  }
  const parts = await findHostParts({ searchRoots: await hostSearchRoots(o.hostRoots) }).catch(
    (e: Error) => e,
  );
  if (!(parts instanceof Error)) return;
  if (!o.install) {
    throw new CliError(CliErrorCode.MissingDeps, `phase-1 parts missing: ${parts.message.split('\n')[0]}`, {
      cause: parts,
      hint: 'boottorrent lab --install-deps unpacks a Debian kernel and busybox-static under ~/.cache/boottorrent/deb',
    });
  }
  for (const [name, pkg] of Object.entries(UNPACKED)) await unpackDeb(name, pkg, o.log);
}

async function unpackDeb(name: string, pkg: string, log: (s: string) => void) {
  const dest = join(cacheHome(), 'deb', name);
  if (await exists(join(dest, '.done'))) return;
  log(`unpacking ${pkg} into ${dest} (not installed)`);
  const tmp = await mkdtemp(join(tmpdir(), 'bt-deb-'));
  try {
    await run('apt-get', ['download', '-qq', pkg], { cwd: tmp });
    if (pkg === 'linux-image-amd64') {
      const meta = (await readdir(tmp)).find((f) => f.endsWith('.deb'))!;
      const depends = await run('dpkg-deb', ['-f', join(tmp, meta), 'Depends']);
      const real = /linux-image-[0-9][^ ,]*/.exec(depends)?.[0];
      if (!real)
        throw new CliError(CliErrorCode.MissingDeps, `cannot tell which kernel ${pkg} depends on`, {
          hint: 'pass --host-root with an unpacked kernel',
        });
      await rm(join(tmp, meta));
      await run('apt-get', ['download', '-qq', real], { cwd: tmp });
    }
    await rm(dest, { recursive: true, force: true });
    await mkdir(dest, { recursive: true });
    for (const deb of (await readdir(tmp)).filter((f) => f.endsWith('.deb')))
      await run('dpkg', ['-x', join(tmp, deb), dest]);
    if (pkg === 'linux-image-amd64') {
      const [version] = await readdir(join(dest, 'lib/modules'));
      await run('depmod', ['-b', dest, version!]);
    }
    await writeFile(join(dest, '.done'), '');
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
