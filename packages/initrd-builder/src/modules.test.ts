import { describe, expect, it } from 'vitest';
import {
  formatModulesSoftdep,
  moduleName,
  parseModulesDep,
  parseModulesSoftdep,
  resolveModuleOrder,
} from './modules.js';

// An excerpt of Debian 6.1's modules.dep (virtio_pci is not a dependency of virtio_net there).
const DEP = `kernel/drivers/virtio/virtio_ring.ko:
kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/virtio/virtio_pci_modern_dev.ko:
kernel/drivers/virtio/virtio_pci_legacy_dev.ko:
kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_pci_legacy_dev.ko kernel/drivers/virtio/virtio_pci_modern_dev.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/net/core/failover.ko:
kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko
kernel/drivers/net/virtio_net.ko.zst: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/net/ethernet/intel/e1000/e1000.ko:
kernel/drivers/net/phy/mdio-devres.ko:
`;

describe('NIC module closure', () => {
  it('names modules as the kernel does', () => {
    expect(moduleName('kernel/drivers/net/phy/mdio-devres.ko.xz')).toBe('mdio_devres');
  });

  it('orders every dependency before its user and adds the virtio_pci chain for virtio_net', () => {
    const { order } = resolveModuleOrder(parseModulesDep(DEP), ['virtio_net', 'e1000']);
    const at = (m: string) => order.findIndex((p) => p.includes(`/${m}.ko`));
    expect(order).toHaveLength(9);
    expect(at('virtio_pci')).toBeGreaterThan(at('virtio_pci_modern_dev'));
    expect(at('virtio_pci')).toBeLessThan(at('virtio_net'));
    expect(at('virtio')).toBeGreaterThan(at('virtio_ring'));
    expect(at('net_failover')).toBeGreaterThan(at('failover'));
    expect(order.at(-1)).toContain('e1000.ko');
    expect(new Set(order).size).toBe(order.length);
  });

  it('skips built-in modules, and missing ones only when asked to', () => {
    const dep = parseModulesDep(DEP);
    expect(
      resolveModuleOrder(dep, ['e1000', 'af_packet'], { builtin: new Set(['af_packet']) }).order,
    ).toEqual(['kernel/drivers/net/ethernet/intel/e1000/e1000.ko']);
    expect(() => resolveModuleOrder(dep, ['tg3'])).toThrow(/tg3 is not in modules.dep/);
    expect(resolveModuleOrder(dep, ['tg3', 'e1000'], { skipMissing: true }).missing).toEqual(['tg3']);
  });
});

// Lines of Debian 6.1's modules.softdep and modules.dep (linux-image-6.1.0-57-amd64), as depmod
// writes them. cxl_port is built in there (modules.builtin); crc32c is an alias, not a module.
const SOFTDEP = `# Soft dependencies extracted from modules themselves.
softdep cifs gcm
softdep cifs ccm
softdep ksmbd pre: crc32
softdep ksmbd pre: gcm
softdep libcrc32c pre: crc32c
softdep ipmi_msghandler post: ipmi_devintf
softdep cxl_mem pre: cxl_port
softdep r8169 pre: realtek
softdep pcengines_apuv2 pre: platform:gpio_amd_fch platform:leds-gpio platform:gpio_keys_polled
softdep vfio post: vfio_iommu_type1 vfio_iommu_spapr_tce
softdep snd_sof_intel_hda pre: snd-hda-codec-hdmi
`;
const SOFT_MODULES = `kernel/lib/libcrc32c.ko:
kernel/drivers/char/ipmi/ipmi_msghandler.ko:
kernel/drivers/char/ipmi/ipmi_devintf.ko: kernel/drivers/char/ipmi/ipmi_msghandler.ko
kernel/drivers/cxl/cxl_mem.ko:
kernel/drivers/net/phy/mdio_devres.ko: kernel/drivers/net/phy/libphy.ko
kernel/drivers/net/phy/libphy.ko:
kernel/drivers/net/phy/realtek.ko: kernel/drivers/net/phy/libphy.ko
kernel/drivers/net/ethernet/realtek/r8169.ko: kernel/drivers/net/phy/mdio_devres.ko kernel/drivers/net/phy/libphy.ko
`;

describe('soft dependencies', () => {
  it('reads pre: and post: of modules.softdep as kmod does, every line of a module', () => {
    const sd = parseModulesSoftdep(SOFTDEP);
    expect(sd.get('r8169')).toEqual({ pre: ['realtek'], post: [] });
    expect(sd.get('ipmi_msghandler')).toEqual({ pre: [], post: ['ipmi_devintf'] });
    expect(sd.get('vfio')).toEqual({ pre: [], post: ['vfio_iommu_type1', 'vfio_iommu_spapr_tce'] });
    expect(sd.get('ksmbd')).toEqual({ pre: ['crc32', 'gcm'], post: [] });
    expect(sd.get('snd_sof_intel_hda')?.pre).toEqual(['snd_hda_codec_hdmi']);
    expect(sd.get('pcengines_apuv2')?.pre).toHaveLength(3);
    // Names before the first pre: or post: mean nothing to kmod (Debian's cifs lines).
    expect(sd.has('cifs')).toBe(false);
    expect(sd.size).toBe(8);
  });

  it("loads r8169's realtek PHY driver before it, after realtek's own dependency", () => {
    const dep = parseModulesDep(SOFT_MODULES);
    const softdeps = parseModulesSoftdep(SOFTDEP);
    // modprobe --show-depends r8169 on this kernel, duplicates dropped.
    expect(resolveModuleOrder(dep, ['r8169'], { softdeps }).order).toEqual([
      'kernel/drivers/net/phy/libphy.ko',
      'kernel/drivers/net/phy/mdio_devres.ko',
      'kernel/drivers/net/phy/realtek.ko',
      'kernel/drivers/net/ethernet/realtek/r8169.ko',
    ]);
    // Without modules.softdep (the bug): no PHY driver.
    expect(resolveModuleOrder(dep, ['r8169']).order).not.toContain('kernel/drivers/net/phy/realtek.ko');
  });

  it('loads post: soft dependencies after the module', () => {
    const { order } = resolveModuleOrder(parseModulesDep(SOFT_MODULES), ['ipmi_msghandler'], {
      softdeps: parseModulesSoftdep(SOFTDEP),
    });
    expect(order).toEqual([
      'kernel/drivers/char/ipmi/ipmi_msghandler.ko',
      'kernel/drivers/char/ipmi/ipmi_devintf.ko',
    ]);
  });

  it('skips soft dependencies that are built in or not built, without error', () => {
    const dep = parseModulesDep(SOFT_MODULES);
    const softdeps = parseModulesSoftdep(SOFTDEP);
    const builtin = new Set(['cxl_port']);
    expect(resolveModuleOrder(dep, ['cxl_mem', 'libcrc32c'], { softdeps, builtin })).toEqual({
      order: ['kernel/drivers/cxl/cxl_mem.ko', 'kernel/lib/libcrc32c.ko'],
      missing: [],
    });
    // cxl_port not built in and not in modules.dep either: still no error.
    expect(resolveModuleOrder(dep, ['cxl_mem'], { softdeps }).order).toEqual([
      'kernel/drivers/cxl/cxl_mem.ko',
    ]);
  });

  it('writes the lines of the modules an archive holds, naming only those', () => {
    const sd = parseModulesSoftdep(SOFTDEP);
    const text = formatModulesSoftdep(sd, ['libphy', 'realtek', 'r8169', 'ipmi_msghandler', 'vfio']);
    // ipmi_devintf and the vfio_iommu modules are not held: their lines would name nothing.
    expect(text).toBe('softdep r8169 pre: realtek\n');
    const both = formatModulesSoftdep(sd, ['ipmi_msghandler', 'ipmi_devintf', 'realtek', 'r8169']);
    expect(parseModulesSoftdep(both)).toEqual(
      new Map([
        ['ipmi_msghandler', { pre: [], post: ['ipmi_devintf'] }],
        ['r8169', { pre: ['realtek'], post: [] }],
      ]),
    );
  });
});
