// Per-NIC module archives against the real kernel package tools/setup.sh unpacks: its modules.alias,
// modules.dep and modules.softdep, and a phase-1 built from it. kmod's modprobe and modinfo, run on
// the same tree, are the reference for what a driver needs.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { zstdDecompressSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildPhase1,
  DEFAULT_NIC_MODULES,
  matchPciModules,
  openNicModules,
  parseModulesAlias,
  readCpio,
  readInitrd,
  type HostParts,
  type Phase1Result,
} from '../../src/index.js';
import { loadModuleIndex, moduleBytes, parseModulesDep, resolveModuleOrder } from '../../src/modules.js';
import { hostParts } from './helpers.js';

let parts: HostParts;
let dir: string;
let phase1: Phase1Result;
beforeAll(async () => {
  parts = await hostParts();
  dir = await mkdtemp(join(tmpdir(), 'bt-nic-'));
  const agent = join(dir, 'agent.mjs');
  await writeFile(agent, 'console.log("agent");\n');
  phase1 = await buildPhase1({ outDir: dir, parts, agentBundle: agent, compression: 'zstd', level: 3 });
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

const E1000 = { vendor: 0x8086, device: 0x100e }; // QEMU -device e1000
const E1000E = { vendor: 0x8086, device: 0x10d3 }; // QEMU -device e1000e
const VIRTIO_NET = { vendor: 0x1af4, device: 0x1000 }; // QEMU virtio-net-pci on i440fx (transitional)
const VMXNET3 = { vendor: 0x15ad, device: 0x07b0 };
const RTL8168 = { vendor: 0x10ec, device: 0x8168 };
const CONNECTX5 = { vendor: 0x15b3, device: 0x1017 }; // mlx5_core: not among the NIC drivers

/** The .ko file names in insmod order of an archive's list. */
const kos = (list: string) =>
  list
    .trim()
    .split('\n')
    .map((l) => l.slice(l.lastIndexOf('/') + 1));

/** The insmod list /init reads from a modules archive. */
const listOf = (archive: Buffer) =>
  Buffer.from(readInitrd(archive).find((r) => r.path === 'etc/boottorrent/modules')!.data).toString();

/** What kmod's modprobe loads for `module` from the same tree, in order, each once (.ko names). */
function modprobeLoads(module: string): string[] {
  const root = parts.modulesDir.replace(/\/(usr\/)?lib\/modules\/[^/]+$/, '') || '/';
  const out = execFileSync(
    'modprobe',
    ['--show-depends', '--dirname', root, '--set-version', parts.kernelVersion, module],
    { encoding: 'utf8' },
  );
  const files = out
    .split('\n')
    .filter((l) => l.startsWith('insmod '))
    .map((l) => basename(l.slice('insmod '.length).trim()).replace(/\.(xz|zst|gz)$/, ''));
  return [...new Set(files)];
}

describe("the kernel's modules.alias", () => {
  it('names the one driver of each NIC among the NIC drivers and their dependencies', async () => {
    const index = await loadModuleIndex(parts.modulesDir);
    const dep = parseModulesDep(index.dep);
    const { order } = resolveModuleOrder(dep, DEFAULT_NIC_MODULES, { skipMissing: true });
    const names = new Set(order.map((p) => p.slice(p.lastIndexOf('/') + 1).replace(/\.ko.*$/, '')));
    const aliases = parseModulesAlias(index.alias).filter((a) => names.has(a.module));
    expect(matchPciModules(aliases, E1000)).toEqual(['e1000']);
    expect(matchPciModules(aliases, E1000E)).toEqual(['e1000e']);
    expect(matchPciModules(aliases, VMXNET3)).toEqual(['vmxnet3']);
    expect(matchPciModules(aliases, RTL8168)).toEqual(['r8169']);
    expect(matchPciModules(aliases, VIRTIO_NET)).toEqual(['virtio_net', 'virtio_pci']);
    expect(matchPciModules(aliases, { vendor: 0x1af4, device: 0x1041 })).toEqual([
      'virtio_net',
      'virtio_pci',
    ]);
    expect(matchPciModules(aliases, CONNECTX5)).toEqual([]);
    // Over the whole file the ConnectX-5 has its driver: the NIC list, not the matching, left it out.
    expect(matchPciModules(parseModulesAlias(index.alias), CONNECTX5)).toContain('mlx5_core');
  });
});

describe('openNicModules', () => {
  it("cuts e1000's archive: its list and the module, byte for byte the kernel package's", async () => {
    const nic = openNicModules(phase1.nicModules!);
    const a = await nic.archiveFor('01:80:86:10:0e');
    expect(a.kind).toBe('nic');
    if (a.kind !== 'nic') return;
    expect(a.modules).toEqual(['e1000']);
    const recs = new Map(readInitrd(a.data).map((r) => [r.path, r]));
    const rel = 'kernel/drivers/net/ethernet/intel/e1000/e1000.ko';
    expect(Buffer.from(recs.get('etc/boottorrent/modules')!.data).toString()).toBe(
      `${parts.kernelVersion}/${rel}\n`,
    );
    const host = await moduleBytes(
      join(
        parts.modulesDir,
        (await loadModuleIndex(parts.modulesDir)).dep.match(/^(\S*e1000\.ko\S*):/m)![1]!,
      ),
    );
    expect(Buffer.from(recs.get(`lib/modules/${parts.kernelVersion}/${rel}`)!.data).equals(host)).toBe(true);
    expect([...recs.keys()].filter((p) => p.endsWith('.ko'))).toHaveLength(1);
    // Built once: the same id, in another of iPXE's formats, gets the same bytes.
    const again = await nic.archiveFor('018086100e');
    expect(again.kind === 'nic' && again.data).toBe(a.data);
    const full = (await readFile(phase1.nicModules!)).length;
    expect(a.data.length).toBeLessThan(full / 10);
  });

  it('gives virtio-net the virtio PCI transport and virtio_net, each after what it needs', async () => {
    const a = await openNicModules(phase1.nicModules!).archiveFor('011af41000');
    expect(a.kind).toBe('nic');
    const list = kos(
      Buffer.from(
        readInitrd(a.kind === 'nic' ? a.data : Buffer.alloc(0)).find(
          (r) => r.path === 'etc/boottorrent/modules',
        )!.data,
      ).toString(),
    );
    // lab-facts §3: what modprobe --show-depends lists for virtio_net, plus virtio_pci.
    expect([...list].sort()).toEqual(
      [
        'virtio_ring.ko',
        'virtio.ko',
        'virtio_pci_modern_dev.ko',
        'virtio_pci_legacy_dev.ko',
        'virtio_pci.ko',
        'failover.ko',
        'net_failover.ko',
        'virtio_net.ko',
      ].sort(),
    );
    const at = (m: string) => list.indexOf(`${m}.ko`);
    expect(at('virtio_ring')).toBeLessThan(at('virtio'));
    expect(at('virtio_pci_modern_dev')).toBeLessThan(at('virtio_pci'));
    expect(at('virtio_pci')).toBeLessThan(at('virtio_net'));
    expect(at('failover')).toBeLessThan(at('net_failover'));
  });

  it('gives r8169 (10ec:8168) its soft dependency, the realtek PHY driver, before it, as modprobe does', async () => {
    const dep = (await loadModuleIndex(parts.modulesDir)).dep;
    const r8169 = join(parts.modulesDir, dep.match(/^(\S*\/r8169\.ko\S*):/m)![1]!);
    // The kernel's record of it (MODULE_SOFTDEP in drivers/net/ethernet/realtek/r8169_main.c).
    expect(execFileSync('modinfo', ['-F', 'softdep', r8169], { encoding: 'utf8' })).toBe('pre: realtek\n');
    const a = await openNicModules(phase1.nicModules!).archiveFor('0110ec8168');
    expect(a.kind).toBe('nic');
    if (a.kind !== 'nic') return;
    const list = kos(listOf(a.data));
    expect(list).toEqual(modprobeLoads('r8169'));
    expect(list).toContain('realtek.ko');
    expect(list.indexOf('realtek.ko')).toBeLessThan(list.indexOf('r8169.ko'));
    expect(a.modules).toContain('realtek');
    const held = readInitrd(a.data).filter((r) => r.path.endsWith('.ko'));
    expect(held.map((r) => basename(r.path)).sort()).toEqual([...list].sort());
  });

  it('holds in the full set everything modprobe loads for each NIC driver, before that driver', async () => {
    const list = kos(listOf(await readFile(phase1.nicModules!)));
    for (const driver of DEFAULT_NIC_MODULES) {
      const at = list.indexOf(`${driver}.ko`);
      expect(at, driver).toBeGreaterThanOrEqual(0);
      for (const m of modprobeLoads(driver).filter((f) => f !== `${driver}.ko`)) {
        expect(list.indexOf(m), `${m} for ${driver}`).toBeGreaterThanOrEqual(0);
        expect(list.indexOf(m), `${m} for ${driver}`).toBeLessThan(at);
      }
    }
    expect(list.indexOf('realtek.ko')).toBeGreaterThanOrEqual(0);
    expect(list.indexOf('realtek.ko')).toBeLessThan(list.indexOf('r8169.ko'));
  });

  it('answers the full set for no id, a bus other than PCI, or a NIC no driver matches', async () => {
    const nic = openNicModules(phase1.nicModules!);
    for (const [busid, reason] of [
      ['', 'no-id'],
      ['not-an-id', 'no-id'],
      ['0700000000', 'not-pci'], // snponly.efi on an SNP handle without a PCI parent
      ['0115b31017', 'no-match'],
    ] as const) {
      const a = await nic.archiveFor(busid);
      expect(a, busid).toMatchObject({ kind: 'full', path: phase1.nicModules, reason });
    }
  });

  it('reads an xz modules archive too (the default compressor), and writes xz', async () => {
    const xzPath = join(dir, 'modules.cpio.xz');
    const cpio = zstdDecompressSync(await readFile(phase1.nicModules!));
    await writeFile(
      xzPath,
      execFileSync('xz', ['--check=crc32', '-0', '-c'], { input: cpio, maxBuffer: 1 << 28 }),
    );
    const a = await openNicModules(xzPath, { level: 0 }).archiveFor('01:80:86:10:0e');
    expect(a.kind).toBe('nic');
    if (a.kind !== 'nic') return;
    expect(a.data.subarray(0, 6).toString('hex')).toBe('fd377a585a00');
    const recs = readCpio(execFileSync('xz', ['-dc'], { input: a.data }));
    expect(recs.filter((r) => r.path.endsWith('.ko')).map((r) => r.path)).toEqual([
      `lib/modules/${parts.kernelVersion}/kernel/drivers/net/ethernet/intel/e1000/e1000.ko`,
    ]);
  });
});
