/**
 * Which kernel modules drive one NIC, from the id iPXE gives for its boot NIC and the kernel's
 * modules.alias. Pure: text in, names out.
 */

/**
 * Bus types of iPXE's device descriptions (`BUS_TYPE_*`, src/include/ipxe/device.h), the first byte
 * of its `busid` setting.
 */
export const IpxeBusType = {
  PCI: 1,
  ISAPNP: 2,
  EISA: 3,
  MCA: 4,
  ISA: 5,
  TAP: 6,
  EFI: 7,
  XEN: 8,
  HV: 9,
  USB: 10,
  DT: 11,
} as const;

/** A bus id as iPXE reports it: bus type, vendor and device. */
export interface BusId {
  /** One of {@link IpxeBusType}. */
  type: number;
  vendor: number;
  device: number;
}

/**
 * Parses iPXE's `busid` setting as a boot script expands it: 5 bytes (bus type, vendor and device
 * big-endian; `struct dhcp_netdev_desc`, src/net/netdev_settings.c `netdev_fetch_busid`) in any of
 * iPXE's hex formats: `hex` (`01:80:86:10:0e`, the default), `hexhyp` (`01-80-86-10-0e`) or `hexraw`
 * (`018086100e`). Anything else (empty: an iPXE without the setting expands it to nothing) is null.
 */
export function parseBusId(text: string): BusId | null {
  if (!/^[0-9a-f]{2}([:-]?[0-9a-f]{2}){4}$/i.test(text)) return null;
  const b = Buffer.from(text.replace(/[:-]/g, ''), 'hex');
  return { type: b[0]!, vendor: b.readUInt16BE(1), device: b.readUInt16BE(3) };
}

/** One `alias <pattern> <module>` line of modules.alias. */
export interface ModuleAlias {
  pattern: string;
  /** As the kernel spells it (underscores). */
  module: string;
}

/** Parses modules.alias, keeping the buses a NIC is found on (`pci:` and `virtio:` patterns). */
export function parseModulesAlias(text: string): ModuleAlias[] {
  const out: ModuleAlias[] = [];
  for (const line of text.split('\n')) {
    const m = /^alias\s+((?:pci|virtio):\S+)\s+(\S+)\s*$/.exec(line);
    if (m) out.push({ pattern: m[1]!, module: m[2]!.replace(/-/g, '_') });
  }
  return out;
}

// file2alias writes each field as fixed-width upper-case hex or a lone `*` (scripts/mod/file2alias.c).
const PCI_ALIAS = /^pci:v([0-9A-F]{8}|\*)d([0-9A-F]{8}|\*)sv/i;
const VIRTIO_ALIAS = /^virtio:d([0-9A-F]{8}|\*)v/i;
const field = (f: string, value: number) => f === '*' || parseInt(f, 16) === value;

/** The PCI vendor id of virtio devices (Red Hat, Inc.; virtio 1.1 §4.1.2). */
export const VIRTIO_PCI_VENDOR = 0x1af4;

/** Transitional virtio PCI device ids → virtio device type (virtio 1.1 §4.1.2.3). */
const VIRTIO_TRANSITIONAL: Readonly<Record<number, number>> = {
  0x1000: 1, // network card
  0x1001: 2, // block device
  0x1002: 5, // memory ballooning
  0x1003: 3, // console
  0x1004: 8, // SCSI host
  0x1005: 4, // entropy source
  0x1009: 9, // 9P transport
};

/**
 * The virtio device type of a virtio PCI function: modern ids are 0x1040 + type, transitional ones
 * come from a table (virtio 1.1 §4.1.2); null for other ids.
 */
export function virtioDeviceType(device: number): number | null {
  if (device >= 0x1040 && device <= 0x107f) return device - 0x1040;
  return VIRTIO_TRANSITIONAL[device] ?? null;
}

/**
 * The modules whose modules.alias entries match a PCI function, by vendor and device (the busid has
 * no subsystem ids or class, so aliases that also name those match on vendor and device alone: one
 * module too many is harmless, one too few leaves the machine offline). A virtio function is two
 * drivers deep: virtio_pci binds to the PCI function, then the driver of the virtio device it
 * exposes (virtio_net for a NIC, matched by `virtio:d<type>`). Sorted, without duplicates.
 */
export function matchPciModules(
  aliases: readonly ModuleAlias[],
  id: { vendor: number; device: number },
): string[] {
  const found = new Set<string>();
  const virtio = id.vendor === VIRTIO_PCI_VENDOR ? virtioDeviceType(id.device) : null;
  for (const a of aliases) {
    const pci = PCI_ALIAS.exec(a.pattern);
    if (pci && field(pci[1]!, id.vendor) && field(pci[2]!, id.device)) found.add(a.module);
    const v = virtio === null ? null : VIRTIO_ALIAS.exec(a.pattern);
    if (v && field(v[1]!, virtio!)) found.add(a.module);
  }
  return [...found].sort();
}
