import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E2E_CACHE, REPO, runLab } from './_run.js';

/**
 * docs/oses.md's recipes, end to end in one lab run (TCG is slow: one run, three VMs): each VM is
 * pinned by MAC to one real OS with `menu: false`, gets it over BitTorrent and must reach its first
 * screen on the serial console:
 *   vm0 (52:54:00:77:00:10) the Debian installer (kexec) → its first screen, "[!!] Select a language"
 *   vm1 (…:11) Debian 12 from debootstrap, its rootfs as initramfs (kexec) → "bt-debian login:"
 *   vm2 (…:12) a boot sector under phase-1's own QEMU (qemu) → its marker
 * The recipes' scripts (tools/oses/*.sh) build the OS folders; a missing tool fails them, and so this.
 */
const BOOTSECTOR_MARKER = 'BOOTTORRENT-BOOTSECTOR-RUNS-UNDER-QEMU';
const MARKERS = ['[!!] Select a language', 'bt-debian login:', BOOTSECTOR_MARKER] as const;
let work: string;

function recipe(script: string, dir: string, ...args: string[]): void {
  const r = spawnSync('bash', [join(REPO, 'tools/oses', script), dir, ...args], {
    encoding: 'utf8',
    timeout: 900_000,
  });
  if (r.status !== 0)
    throw new Error(`tools/oses/${script} exited ${r.status}:\n${r.stderr}${r.error ?? ''}`);
}

beforeAll(async () => {
  await mkdir(E2E_CACHE, { recursive: true });
  work = await mkdtemp(join(E2E_CACHE, 'oses-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('real operating systems through the whole chain (QEMU VMs, TCG)', { timeout: 2_400_000 }, () => {
  it('boots the Debian installer, a debootstrapped Debian 12 and a boot sector under QEMU, one per VM', async () => {
    const project = join(work, 'project');
    recipe('debian-installer.sh', join(project, 'oss/debian-installer'));
    recipe('debian-live.sh', join(project, 'oss/debian-live'));
    recipe('qemu-bootsector.sh', join(project, 'oss/bootsector'), BOOTSECTOR_MARKER);
    await writeFile(
      join(project, 'config.yaml'),
      [
        'general:',
        '  timeout: -1', // a menu would wait forever: only menu: false gets a VM to its OS
        '  default_os: debian-installer',
        '  seed_time: 0',
        '  host_ip: 10.77.0.1',
        'dhcp:',
        '  interface: br0',
        '  range: { start: 10.77.0.100, end: 10.77.0.199 }',
        '  netmask: 255.255.255.0',
        'machines:',
        ...['debian-installer', 'debian-live', 'bootsector'].flatMap((os, i) => [
          `  - mac: 52:54:00:77:00:1${i}`,
          `    os: ${os}`,
          '    menu: false',
        ]),
        '',
      ].join('\n'),
    );
    const dir = join(work, 'run');
    const alternation = MARKERS.map((m) => m.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
    // 1 GiB each: the installer needs about that; the live rootfs unpacks to ~3× its download.
    const r = await runLab(dir, [
      '--vms',
      '3',
      '--project',
      project,
      '--memory',
      '1024',
      '--expect',
      alternation,
      '--timeout',
      '1500',
    ]);
    const serial = await Promise.all(
      [0, 1, 2].map((i) => readFile(join(dir, `vm${i}.serial.log`), 'utf8').catch(() => '')),
    );
    const tails = serial.map((s, i) => `--- vm${i}:\n${s.slice(-1500)}`).join('\n');
    expect(r.code, `${r.stderr.slice(-3000)}\n${tails}`).toBe(0);
    // Each VM reached its own OS, not just any of the three markers.
    serial.forEach((s, i) => expect(s, `vm${i}`).toContain(MARKERS[i]));
    // The boot sector ran under the QEMU inside phase-1, after the agent handed over.
    expect(serial[2]).toMatch(/Booting Boot sector under QEMU[\s\S]*BOOTTORRENT-BOOTSECTOR-RUNS/);
    // The live system came up on the network: systemd-networkd leased an address in the lab's range
    // (the recipe's network-address.service prints it before the login prompt).
    expect(serial[1]).toMatch(/bt-debian network: \S+\s+UP\s+10\.77\.0\.\d+\/24[\s\S]*bt-debian login:/);
    const result = JSON.parse(r.stdout) as { vms: { ok: boolean; marks: Record<string, number> }[] };
    expect(result.vms.map((v) => v.ok)).toEqual([true, true, true]);
    console.log(
      `[oses] booted at ${result.vms.map((v, i) => `vm${i} ${v.marks.booted?.toFixed(0)} s`).join(', ')}`,
    );
  });
});
