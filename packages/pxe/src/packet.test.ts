import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readPcap } from '../test/pcap.js';
import { DhcpMessageType, DhcpOption } from './constants.js';
import { MalformedPacket, PxeError } from './errors.js';
import { machineOf } from './machine.js';
import { decodePacket, decodeUnchecked, encodePacket, macOf, type DhcpPacket } from './packet.js';

const fixture = (name: string) => fileURLToPath(new URL(`../test/fixtures/${name}`, import.meta.url));

/** A DISCOVER laid out by hand (RFC 2131 §2 figure 1). */
function discoverBytes(options: number[]): Buffer {
  const b = Buffer.alloc(240);
  b[0] = 1; // op BOOTREQUEST
  b[1] = 1; // htype Ethernet
  b[2] = 6; // hlen
  b.writeUInt32BE(0xdeadbeef, 4); // xid
  b.writeUInt16BE(0x8000, 10); // flags: broadcast
  Buffer.from([0x52, 0x54, 0, 0x77, 0, 0x10]).copy(b, 28); // chaddr
  b.writeUInt32BE(0x63825363, 236); // magic cookie
  return Buffer.concat([b, Buffer.from(options)]);
}

function reason(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    if (e instanceof PxeError) return e.reason;
    throw e;
  }
  return 'no error';
}

describe('decodePacket', () => {
  it('reads the BOOTP header and skips pad bytes between options', () => {
    const p = decodePacket(discoverBytes([0, 0, 53, 1, 1, 0, 93, 2, 0, 7, 255, 0, 0]));
    expect(p.op).toBe(1);
    expect(p.xid).toBe(0xdeadbeef);
    expect(p.flags).toBe(0x8000);
    expect(macOf(p)).toBe('52:54:00:77:00:10');
    expect([...p.options.keys()]).toEqual([53, 93]);
    expect(p.options.get(93)).toEqual(Uint8Array.of(0, 7));
  });

  it('keeps option 61 whole even when it contains zero bytes', () => {
    const p = decodePacket(discoverBytes([53, 1, 1, 61, 7, 1, 0x52, 0x54, 0, 0, 0, 0x10, 255]));
    expect(p.options.get(61)).toEqual(Uint8Array.of(1, 0x52, 0x54, 0, 0, 0, 0x10));
  });

  it('concatenates repeated instances of an option (RFC 3396)', () => {
    const p = decodePacket(discoverBytes([53, 1, 1, 77, 2, 0x69, 0x50, 77, 2, 0x58, 0x45, 255]));
    expect(Buffer.from(p.options.get(77)!).toString()).toBe('iPXE');
  });

  it('reads options overloaded into file and sname, in that order', () => {
    const b = discoverBytes([52, 1, 3, 53, 1, 1, 255]);
    Buffer.from([67, 4, 0x61, 0x2e, 0x65, 0x66, 255]).copy(b, 108); // file: option 67 "a.ef"
    Buffer.from([66, 2, 0x31, 0x30, 255]).copy(b, 44); // sname: option 66 "10"
    const p = decodePacket(b);
    expect(p.file).toBe('');
    expect(p.sname).toBe('');
    expect(Buffer.from(p.options.get(67)!).toString()).toBe('a.ef');
    expect(Buffer.from(p.options.get(66)!).toString()).toBe('10');
  });

  it.each([
    ['truncated', Buffer.alloc(100)],
    ['oversized', Buffer.concat([discoverBytes([53, 1, 1]), Buffer.alloc(1300)])],
    ['bad-cookie', Buffer.concat([Buffer.alloc(240), Buffer.from([53, 1, 1, 255])])],
    ['option-overrun', discoverBytes([53, 1, 1, 60, 40, 0x50])],
    ['option-overrun', discoverBytes([53, 1, 1, 60])],
    ['bad-overload', discoverBytes([52, 1, 9, 53, 1, 1, 255])],
  ])('rejects %s input with that reason', (why, bytes) => {
    expect(reason(() => decodePacket(bytes))).toBe(why);
  });

  it('rejects an option 52 inside an overloaded field (a loop)', () => {
    const b = discoverBytes([52, 1, 1, 53, 1, 1, 255]);
    Buffer.from([52, 1, 1, 255]).copy(b, 108);
    expect(reason(() => decodePacket(b))).toBe('overload-loop');
  });

  it('signals nothing but a malformed packet on 100,000 random and mutated inputs', () => {
    let s = 0x12345;
    const rand = (): number => {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      return (s >>> 0) / 4294967296;
    };
    const base = discoverBytes([
      53,
      1,
      1,
      55,
      4,
      1,
      3,
      6,
      67,
      60,
      9,
      ...Buffer.from('PXEClient'),
      93,
      2,
      0,
      0,
      97,
      17,
      0,
      ...new Array(16).fill(7),
      255,
    ]);
    let ok = 0;
    for (let i = 0; i < 100_000; i++) {
      const b =
        rand() < 0.3
          ? Buffer.from(Array.from({ length: Math.floor(rand() * 600) }, () => Math.floor(rand() * 256)))
          : Buffer.from(base);
      for (let k = 0; k < 1 + rand() * 6; k++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
      try {
        machineOf(decodeUnchecked(b), 'x');
        ok++;
      } catch (e) {
        if (!(e instanceof MalformedPacket)) throw e;
      }
    }
    expect(ok).toBeGreaterThan(1000);
  });
});

describe('encodePacket', () => {
  const packet = (options: [number, Uint8Array][]): DhcpPacket => ({
    ...decodePacket(discoverBytes([53, 1, 2, 255])),
    op: 2,
    yiaddr: '10.77.0.100',
    siaddr: '10.77.0.1',
    file: 'undionly.kpxe',
    options: new Map(options),
  });

  it('round-trips header fields and options, padded to the BOOTP minimum of 300 bytes', () => {
    const p = packet([
      [53, Uint8Array.of(DhcpMessageType.Offer)],
      [54, Uint8Array.of(10, 77, 0, 1)],
      [61, Uint8Array.of(1, 0, 0, 0)],
    ]);
    const bytes = encodePacket(p);
    expect(bytes.length).toBe(300);
    expect(bytes.readUInt32BE(236)).toBe(0x63825363);
    expect(bytes.subarray(240, 253)).toEqual(Buffer.from([53, 1, 2, 54, 4, 10, 77, 0, 1, 61, 4, 1, 0]));
    const back = decodePacket(bytes);
    expect(back).toEqual({ ...p, options: back.options });
    expect([...back.options]).toEqual([...p.options]);
  });

  it('splits options longer than 255 bytes and joins them back', () => {
    const long = Uint8Array.from({ length: 300 }, (_, i) => i & 255);
    const bytes = encodePacket(
      packet([
        [53, Uint8Array.of(2)],
        [43, long],
      ]),
      { maxSize: 1400 },
    );
    expect(bytes[243]).toBe(43);
    expect(bytes[244]).toBe(255);
    expect(decodePacket(bytes).options.get(43)).toEqual(long);
  });

  it('overloads file and sname when the options do not fit in maxSize', () => {
    const p = packet([
      [53, Uint8Array.of(2)],
      [43, new Uint8Array(250).fill(1)],
      [60, new Uint8Array(70).fill(2)],
      [12, new Uint8Array(40).fill(3)],
      [14, new Uint8Array(50).fill(4)],
      [15, new Uint8Array(40).fill(5)],
    ]);
    p.file = '';
    const bytes = encodePacket(p, { maxSize: 576 });
    expect(bytes.length).toBeLessThanOrEqual(576);
    const back = decodePacket(bytes);
    expect(back.options.get(DhcpOption.OptionOverload)).toEqual(Uint8Array.of(3));
    expect(back.options.get(60)).toEqual(p.options.get(60));
    for (const code of [12, 14, 15]) expect(back.options.get(code)).toEqual(p.options.get(code));
    expect(back.options.get(43)).toEqual(p.options.get(43));
  });

  it('refuses options that do not fit even with overload', () => {
    const p = packet([
      [43, new Uint8Array(255)],
      [44, new Uint8Array(255)],
      [45, new Uint8Array(255)],
    ]);
    expect(() => encodePacket(p, { maxSize: 576 })).toThrow(
      expect.objectContaining({ code: 'PXE_PACKET_TOO_LARGE' }),
    );
  });
});

describe('golden packets captured from real clients', () => {
  const requests = (name: string) =>
    readPcap(fixture(name))
      .filter((r) => r.dstPort === 67)
      .map((r) => decodePacket(r.payload));

  it("reads QEMU iPXE ROM's DISCOVER and REQUEST as a BIOS iPXE machine", () => {
    const [discover, request] = requests('ipxe-bios.pcap');
    expect(discover!.options.get(53)).toEqual(Uint8Array.of(DhcpMessageType.Discover));
    expect(request!.options.get(53)).toEqual(Uint8Array.of(DhcpMessageType.Request));
    const m = machineOf(discover!, 'br0');
    expect(m).toMatchObject({ mac: '52:54:00:77:00:10', arch: 0, userClass: 'iPXE', isIpxe: true });
    expect(m.vendorClass).toMatch(/^PXEClient:Arch:00000/);
    expect(request!.options.get(DhcpOption.RequestedIpAddress)).toHaveLength(4);
    expect(request!.options.has(DhcpOption.ServerIdentifier)).toBe(true);
  });

  it("reads OVMF's own PXE DISCOVER as x64 UEFI (arch 7) with a GUID, then snponly.efi's iPXE", () => {
    const all = requests('ovmf-pxe.pcap');
    const firmware = machineOf(all[0]!, 'br0');
    expect(firmware).toMatchObject({ mac: '52:54:00:77:00:11', arch: 7, isIpxe: false, userClass: null });
    expect(firmware.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const ipxe = all.map((p) => machineOf(p, 'br0')).find((m) => m.isIpxe);
    expect(ipxe).toMatchObject({ arch: 7, userClass: 'iPXE' });
  });

  it("reads busybox udhcpc's DISCOVER as a plain client and re-encodes every golden packet byte for byte in its options", () => {
    const [discover] = requests('udhcpc.pcap');
    expect(machineOf(discover!, 'br0')).toMatchObject({
      arch: null,
      isIpxe: false,
      vendorClass: expect.stringMatching(/^udhcp/),
    });
    for (const name of ['ipxe-bios.pcap', 'ovmf-pxe.pcap', 'udhcpc.pcap']) {
      for (const r of readPcap(fixture(name)).filter((x) => x.dstPort === 67)) {
        const again = encodePacket(decodePacket(r.payload), { maxSize: 1400 });
        expect(again.subarray(0, 240)).toEqual(r.payload.subarray(0, 240));
        expect(decodePacket(again).options).toEqual(decodePacket(r.payload).options);
      }
    }
  });
});
