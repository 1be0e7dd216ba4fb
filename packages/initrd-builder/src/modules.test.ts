import { describe, expect, it } from 'vitest';
import { moduleName, parseModulesDep, resolveModuleOrder } from './modules.js';

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
