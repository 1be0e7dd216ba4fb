import { describe, expect, it } from 'vitest';
import { matchPciModules, parseBusId, parseModulesAlias, virtioDeviceType } from './nic-match.js';

// Lines of Debian 6.1's modules.alias (linux-image-6.1.0-57-amd64), as depmod writes them.
const ALIAS = `# Aliases extracted from modules themselves.
alias pci:v00008086d0000100Esv*sd*bc*sc*i* e1000
alias pci:v00008086d000010D3sv*sd*bc*sc*i* e1000e
alias pci:v00001AF4d*sv*sd*bc*sc*i* virtio_pci
alias virtio:d00000001v* virtio_net
alias virtio:d00000002v* virtio_blk
alias pci:v000014E4d00001659sv*sd*bc*sc*i* tg3
alias pci:v*d*sv*sd*bc0Csc07i00* ipmi_si
alias usb:v0B95p1790d*dc*dsc*dp*ic*isc*ip*in* ax88179_178a
alias of:N*T*Cvirtio,mmio virtio_mmio
`;

describe('iPXE busid', () => {
  it('reads the 5 bytes (bus type, vendor, device) in the hex, hexhyp and hexraw formats', () => {
    const e1000 = { type: 1, vendor: 0x8086, device: 0x100e };
    expect(parseBusId('01:80:86:10:0e')).toEqual(e1000);
    expect(parseBusId('01-80-86-10-0E')).toEqual(e1000);
    expect(parseBusId('018086100e')).toEqual(e1000);
    // An EFI handle without a PCI parent: bus type 7, no ids.
    expect(parseBusId('0700000000')).toEqual({ type: 7, vendor: 0, device: 0 });
  });

  it('is null for an empty or malformed id (an iPXE that cannot expand the setting sends nothing)', () => {
    for (const bad of ['', '01:80:86:10', '0180861000ee', 'zz8086100e', '01:80:86:10:0e\n', '${netX/busid}'])
      expect(parseBusId(bad), bad).toBeNull();
  });
});

describe('modules.alias', () => {
  it('keeps the pci: and virtio: lines only', () => {
    const a = parseModulesAlias(ALIAS);
    expect(a.map((x) => x.module)).toEqual([
      'e1000',
      'e1000e',
      'virtio_pci',
      'virtio_net',
      'virtio_blk',
      'tg3',
      'ipmi_si',
    ]);
  });

  it('matches a PCI function by vendor and device, wildcards included', () => {
    const a = parseModulesAlias(ALIAS);
    expect(matchPciModules(a, { vendor: 0x8086, device: 0x100e })).toEqual(['e1000', 'ipmi_si']);
    // ipmi_si matches by class alone: the busid has no class, so it is kept (one too many is harmless).
    expect(matchPciModules(a, { vendor: 0x14e4, device: 0x1659 })).toEqual(['ipmi_si', 'tg3']);
    expect(matchPciModules(a.slice(0, 6), { vendor: 0x15b3, device: 0x1017 })).toEqual([]);
  });

  it('follows a virtio function to the driver of the virtio device behind it', () => {
    const a = parseModulesAlias(ALIAS).filter((x) => x.module !== 'ipmi_si');
    // Transitional (QEMU's default on i440fx) and modern network functions.
    expect(matchPciModules(a, { vendor: 0x1af4, device: 0x1000 })).toEqual(['virtio_net', 'virtio_pci']);
    expect(matchPciModules(a, { vendor: 0x1af4, device: 0x1041 })).toEqual(['virtio_net', 'virtio_pci']);
    expect(matchPciModules(a, { vendor: 0x1af4, device: 0x1001 })).toEqual(['virtio_blk', 'virtio_pci']);
    expect(virtioDeviceType(0x1042)).toBe(2);
    expect(virtioDeviceType(0x1100)).toBeNull();
  });
});
