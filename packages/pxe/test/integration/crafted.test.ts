// Crafted raw packets against server mode: boot file by option 93, iPXE detection, HTTP boot,
// option 97 handling, REQUEST for another server, INFORM, DECLINE, NAK, reservations.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DhcpMessageType, DhcpOption } from '../../src/constants.js';
import { Agent } from './helpers/agent.js';
import { RawClient } from './helpers/exchange.js';
import { createLab, randomMac, type Lab } from './helpers/netns.js';
import { craft, pxeClass } from './helpers/packets.js';

const SCRIPT = 'http://10.77.0.1:8080/boot.ipxe';
const RESERVED_MAC = '52:54:00:77:00:10';

describe('server mode answers crafted packets', () => {
  let lab: Lab;
  let server: Agent;
  let client: Agent;
  let raw: RawClient;

  beforeAll(async () => {
    lab = await createLab();
    const c = lab.clients[0]!;
    await c.ns.ip('addr', 'add', '10.77.0.250/24', 'brd', '+', 'dev', c.iface);
    server = await Agent.start(lab.server);
    client = await Agent.start(c.ns);
    await server.call('startServer', {
      name: 's',
      opts: {
        interface: 'br0',
        serverAddress: '10.77.0.1',
        mode: 'server',
        range: { start: '10.77.0.100', end: '10.77.0.199' },
        reservations: [{ mac: RESERVED_MAC, ip: '10.77.0.10' }],
        router: '10.77.0.1',
        dns: ['10.77.0.1'],
        leaseTime: 600,
        plan: { static: { scriptUrl: SCRIPT }, ignoreMacs: ['52:54:00:99:99:99'] },
      },
    });
    raw = await RawClient.open(client, c.iface);
  });
  afterAll(async () => {
    await client?.dispose();
    await server?.dispose();
    await lab?.dispose();
  });

  const offer = async (o: Parameters<typeof craft>[0]) => {
    const p = craft(o);
    await raw.send(p, '10.77.0.255');
    return raw.reply(p.xid);
  };

  it.each([
    [0, undefined, 'undionly.kpxe'],
    [6, undefined, 'ipxe-i386.efi'],
    [7, undefined, 'snponly.efi'],
    [9, undefined, 'snponly.efi'],
    [16, 'HTTPClient:Arch:00016:UNDI:003001', 'http://10.77.0.1:8080/snponly.efi'],
  ])('offers an address and the loader for client arch %i', async (arch, vendorClass, file) => {
    const r = await offer({ mac: randomMac(), arch, vendorClass: vendorClass ?? pxeClass(arch) });
    expect(r).not.toBeNull();
    const p = r!.packet;
    expect(p.options.get(DhcpOption.DhcpMessageType)).toEqual(Uint8Array.of(DhcpMessageType.Offer));
    expect(p.yiaddr).toMatch(/^10\.77\.0\.1\d\d$/);
    expect(p.siaddr).toBe('10.77.0.1');
    expect(p.file).toBe(file);
    expect(p.options.get(DhcpOption.Router)).toEqual(Uint8Array.of(10, 77, 0, 1));
    expect(p.options.get(DhcpOption.DomainNameServer)).toEqual(Uint8Array.of(10, 77, 0, 1));
    expect(p.options.get(DhcpOption.IpAddressLeaseTime)).toEqual(Uint8Array.of(0, 0, 2, 88));
    expect(Buffer.from(p.options.get(DhcpOption.VendorClassIdentifier) ?? []).toString()).toBe(
      arch === 16 ? 'HTTPClient' : '',
    );
  });

  it('gives ARM64 firmware no offer at all, saying why (phase-1 is x86_64)', async () => {
    const mac = randomMac();
    expect(await offer({ mac, arch: 11, vendorClass: pxeClass(11) })).toBeNull();
    const e = await server.waitFor((x) => x.type === 'ignored' && x.payload?.mac === mac, 5000);
    expect(e.payload).toEqual({
      mac,
      reason: 'arch-unsupported',
      detail: 'arm64 UEFI (arch 11), phase-1 is x86_64',
    });
  });

  it('gives iPXE (user class "iPXE") the script URL and option 175.176 = 1', async () => {
    const r = await offer({ mac: randomMac(), arch: 0, vendorClass: pxeClass(0), userClass: 'iPXE' });
    expect(r?.packet.file).toBe(SCRIPT);
    expect(r?.packet.options.get(DhcpOption.IpxeEncapsulated)).toEqual(Uint8Array.of(176, 1, 1, 255));
  });

  it('recognises iPXE by option 175 alone', async () => {
    const r = await offer({ mac: randomMac(), arch: 7, vendorClass: pxeClass(7), ipxe175: true });
    expect(r?.packet.file).toBe(SCRIPT);
  });

  it('echoes option 97 and still answers a PXE client that omits it', async () => {
    const uuid = Uint8Array.from({ length: 16 }, (_, i) => i);
    const withUuid = await offer({ mac: randomMac(), arch: 0, vendorClass: pxeClass(0), uuid });
    expect(withUuid?.packet.options.get(DhcpOption.ClientMachineIdentifier)).toEqual(
      Uint8Array.of(0, ...uuid),
    );
    const without = await offer({ mac: randomMac(), arch: 0, vendorClass: pxeClass(0), uuid: null });
    expect(without?.packet.file).toBe('undionly.kpxe');
    expect(without?.packet.options.has(DhcpOption.ClientMachineIdentifier)).toBe(false);
  });

  it('does not answer an unknown architecture or a machine the plan refuses', async () => {
    const before = (await server.call<{ ignored: number }>('stats', { name: 's' })).ignored;
    const [a, b] = await Promise.all([
      offer({ mac: randomMac(), arch: 2, vendorClass: pxeClass(2) }),
      offer({ mac: '52:54:00:99:99:99', arch: 0, vendorClass: pxeClass(0) }),
    ]);
    expect(a).toBeNull();
    expect(b).toBeNull();
    expect((await server.call<{ ignored: number }>('stats', { name: 's' })).ignored).toBe(before + 2);
  });

  it('ignores a REQUEST that names another server and frees the offer', async () => {
    const mac = randomMac();
    const o = await offer({ mac });
    expect(o).not.toBeNull();
    const req = craft({
      mac,
      type: DhcpMessageType.Request,
      serverId: '10.77.0.2',
      requestedIp: o!.packet.yiaddr,
    });
    await raw.send(req, '10.77.0.255');
    expect(await raw.reply(req.xid, 1500)).toBeNull();
    await server.waitFor(
      (e) => e.type === 'ignored' && e.payload?.mac === mac && e.payload.reason === 'other-server',
      2000,
    );
  });

  it('ACKs a REQUEST for our offer, NAKs one for an address outside the subnet', async () => {
    const mac = randomMac();
    const o = await offer({ mac });
    const req = craft({
      mac,
      type: DhcpMessageType.Request,
      serverId: '10.77.0.1',
      requestedIp: o!.packet.yiaddr,
    });
    await raw.send(req, '10.77.0.255');
    const ack = await raw.reply(req.xid);
    expect(ack?.packet.options.get(DhcpOption.DhcpMessageType)).toEqual(Uint8Array.of(DhcpMessageType.Ack));
    expect(ack?.packet.yiaddr).toBe(o!.packet.yiaddr);
    expect(ack?.packet.options.get(DhcpOption.IpAddressLeaseTime)).toEqual(Uint8Array.of(0, 0, 2, 88));
    const bad = craft({ mac, type: DhcpMessageType.Request, requestedIp: '192.168.1.5' });
    await raw.send(bad, '10.77.0.255');
    const nak = await raw.reply(bad.xid);
    expect(nak?.packet.options.get(DhcpOption.DhcpMessageType)).toEqual(Uint8Array.of(DhcpMessageType.Nak));
  });

  it('quarantines a DECLINEd address and offers another one', async () => {
    const mac = randomMac();
    const o = await offer({ mac });
    const ip = o!.packet.yiaddr;
    const req = craft({ mac, type: DhcpMessageType.Request, serverId: '10.77.0.1', requestedIp: ip });
    await raw.send(req, '10.77.0.255');
    expect(await raw.reply(req.xid)).not.toBeNull();
    await raw.send(
      craft({ mac, type: DhcpMessageType.Decline, serverId: '10.77.0.1', requestedIp: ip }),
      '10.77.0.255',
    );
    await server.waitFor(
      (e) => e.type === 'lease' && e.payload?.type === 'declined' && e.payload.ip === ip,
      2000,
    );
    const again = await offer({ mac, requestedIp: ip });
    expect(again?.packet.yiaddr).toMatch(/^10\.77\.0\.1\d\d$/);
    expect(again?.packet.yiaddr).not.toBe(ip);
  });

  it('answers INFORM with configuration but no address or lease time', async () => {
    const p = craft({ mac: randomMac(), type: DhcpMessageType.Inform, ciaddr: '10.77.0.250' });
    await raw.send(p, '10.77.0.1');
    const r = await raw.reply(p.xid);
    expect(r?.packet.options.get(DhcpOption.DhcpMessageType)).toEqual(Uint8Array.of(DhcpMessageType.Ack));
    expect(r?.packet.yiaddr).toBe('0.0.0.0');
    expect(r?.packet.options.has(DhcpOption.IpAddressLeaseTime)).toBe(false);
    expect(r?.packet.options.get(DhcpOption.SubnetMask)).toEqual(Uint8Array.of(255, 255, 255, 0));
  });

  it('gives a reserved MAC its fixed address', async () => {
    const r = await offer({ mac: RESERVED_MAC });
    expect(r?.packet.yiaddr).toBe('10.77.0.10');
  });

  it('drops and counts malformed packets without answering', async () => {
    const before = await server.call<{ dropped: number; droppedByReason: Record<string, number> }>('stats', {
      name: 's',
    });
    const badUuid = craft({ mac: randomMac(), arch: 0, vendorClass: pxeClass(0) });
    badUuid.options.set(DhcpOption.ClientMachineIdentifier, Uint8Array.of(0, 1, 2));
    await raw.send(badUuid, '10.77.0.255');
    await client.call('udpSend', {
      name: raw.name,
      data: Buffer.alloc(100).toString('base64'),
      address: '10.77.0.1',
      port: 67,
    });
    expect(await raw.reply(badUuid.xid, 1000)).toBeNull();
    const after = await server.call<{ dropped: number; droppedByReason: Record<string, number> }>('stats', {
      name: 's',
    });
    expect(after.dropped).toBe(before.dropped + 2);
    expect(after.droppedByReason['bad-option-97']).toBe((before.droppedByReason['bad-option-97'] ?? 0) + 1);
    expect(after.droppedByReason.truncated).toBe((before.droppedByReason.truncated ?? 0) + 1);
  });
});
