// What the lab needs from Debian: which packages are missing, installing them, and unpacking the ones
// that must never be installed on the host (a kernel image, busybox-static).
import { access, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LabError, LabErrorCode, type Logger } from './errors.js';
import { findTool, runCommand } from './exec.js';
import { OVMF_CODE } from './vm.js';

/** One thing the lab needs and the Debian package that brings it. */
export interface Requirement {
  what: string;
  pkg: string;
  present(): Promise<boolean>;
}

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );
const tool = async (bin: string) => {
  try {
    findTool(bin);
    return true;
  } catch {
    return false;
  }
};

/** What a lab room needs on the host: QEMU and its iPXE ROMs, iPXE, dnsmasq, ip, and OVMF for UEFI. */
export function labRequirements(o: { uefi: boolean }): Requirement[] {
  return [
    { what: 'qemu-system-x86_64', pkg: 'qemu-system-x86', present: () => tool('qemu-system-x86_64') },
    {
      what: "QEMU's iPXE NIC ROMs",
      pkg: 'ipxe-qemu',
      present: () => exists('/usr/lib/ipxe/qemu/efi-virtio.rom'),
    },
    { what: 'iPXE boot loaders', pkg: 'ipxe', present: () => exists('/usr/lib/ipxe/undionly.kpxe') },
    { what: 'dnsmasq (IPv6 router advertisements)', pkg: 'dnsmasq-base', present: () => tool('dnsmasq') },
    { what: 'ip (iproute2)', pkg: 'iproute2', present: () => tool('ip') },
    ...(o.uefi ? [{ what: 'OVMF (UEFI firmware)', pkg: 'ovmf', present: () => exists(OVMF_CODE) }] : []),
  ];
}

/** The requirements not met on this host. */
export async function missingRequirements(reqs: readonly Requirement[]): Promise<Requirement[]> {
  const missing: Requirement[] = [];
  for (const r of reqs) if (!(await r.present())) missing.push(r);
  return missing;
}

/** `apt-get install` of the packages behind `reqs` (root only; non-interactive, no recommends). */
export async function aptInstall(reqs: readonly Requirement[], logger?: Logger): Promise<void> {
  const pkgs = [...new Set(reqs.map((r) => r.pkg))];
  if (!pkgs.length) return;
  logger?.info?.(`installing: ${pkgs.join(' ')}`);
  await runCommand('apt-get', ['update', '-qq'], { logger });
  await runCommand('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...pkgs], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    logger,
  });
}

/**
 * Makes sure `reqs` are met: with `install`, apt-get installs what is missing; without, a
 * LAB_MISSING_TOOL error names each missing thing, and its hint the apt-get line (then `installHint`,
 * how the caller's user asks for the install, e.g. `boottorrent lab --install-deps`).
 */
export async function ensureRequirements(
  reqs: readonly Requirement[],
  o: { install: boolean; installHint?: string; logger?: Logger },
): Promise<void> {
  const missing = await missingRequirements(reqs);
  if (missing.length && !o.install) {
    const apt = `apt-get install ${[...new Set(missing.map((m) => m.pkg))].join(' ')}`;
    throw new LabError(LabErrorCode.MissingTool, `the lab needs ${missing.map((m) => m.what).join(', ')}`, {
      hint: o.installHint ? `${apt}   (or: ${o.installHint})` : apt,
    });
  }
  await aptInstall(missing, o.logger);
}

/**
 * `apt-get download` + `dpkg -x` of `pkg` into `dest`, never installing it (a kernel image, or
 * busybox-static which conflicts with busybox). A kernel metapackage is resolved to its real image,
 * whose modules get a `depmod` (Debian's .deb has no modules.dep). Done once: `dest/.done` marks it.
 */
export async function unpackDeb(pkg: string, dest: string, logger?: Logger): Promise<void> {
  if (await exists(join(dest, '.done'))) return;
  logger?.info?.(`unpacking ${pkg} into ${dest} (not installed)`);
  const tmp = await mkdtemp(join(tmpdir(), 'bt-deb-'));
  try {
    await runCommand('apt-get', ['download', '-qq', pkg], { cwd: tmp, logger });
    const kernel = pkg === 'linux-image-amd64';
    if (kernel) {
      const meta = (await readdir(tmp)).find((f) => f.endsWith('.deb'))!;
      const depends = await runCommand('dpkg-deb', ['-f', join(tmp, meta), 'Depends']);
      const real = /linux-image-[0-9][^ ,]*/.exec(depends)?.[0];
      if (!real)
        throw new LabError(LabErrorCode.Command, `cannot tell which kernel ${pkg} depends on`, {
          hint: 'unpack a kernel .deb yourself and pass its folder as a host root',
        });
      await rm(join(tmp, meta));
      await runCommand('apt-get', ['download', '-qq', real], { cwd: tmp, logger });
    }
    await rm(dest, { recursive: true, force: true });
    await mkdir(dest, { recursive: true });
    for (const deb of (await readdir(tmp)).filter((f) => f.endsWith('.deb')))
      await runCommand('dpkg', ['-x', join(tmp, deb), dest], { logger });
    if (kernel) {
      const [version] = await readdir(join(dest, 'lib/modules'));
      await runCommand('depmod', ['-b', dest, version!], { logger });
    }
    await writeFile(join(dest, '.done'), '');
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
