// proxyDHCP mode with crafted packets: offers on 67 without an address, ACKs on 4011, only to
// PXE/iPXE clients.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DhcpMessageType, DhcpOption } from '../../src/constants.js';
import { Agent } from './helpers/agent.js';
import { RawClient } from './helpers/exchange.js';
import { addClient, createLab, randomMac, type Lab, type Netns } from './helpers/netns.js';
import { craft, pxeClass } from './helpers/packets.js';

const SCRIPT = 'http://10.77.0.1:8080/boot.ipxe';

describe('proxy mode answers only boot clients, without addresses', () => {
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
      name: 'p',
      opts: {
        interface: 'br0',
        serverAddress: '10.77.0.1',
        mode: 'proxy',
        plan: { static: { scriptUrl: SCRIPT }, delayMs: 20 },
      },
    });
    raw = await RawClient.open(client, c.iface);
  });
  afterAll(async () => {
    await client?.dispose();
    await server?.dispose();
    await lab?.dispose();
  });

  it('offers a BIOS PXE client the loader with option 60 "PXEClient" and option 43 discovery control', async () => {
    const p = craft({ mac: randomMac(), arch: 0, vendorClass: pxeClass(0) });
    await raw.send(p, '10.77.0.255');
    const r = (await raw.reply(p.xid))!.packet;
    expect(r.options.get(DhcpOption.DhcpMessageType)).toEqual(Uint8Array.of(DhcpMessageType.Offer));
    expect(r.yiaddr).toBe('0.0.0.0');
    expect(r.siaddr).toBe('10.77.0.1');
    expect(r.file).toBe('undionly.kpxe');
    expect(Buffer.from(r.options.get(DhcpOption.VendorClassIdentifier)!).toString()).toBe('PXEClient');
    expect(r.options.get(DhcpOption.VendorSpecificInformation)).toEqual(Uint8Array.of(6, 1, 8, 255));
    expect(r.options.get(DhcpOption.ServerIdentifier)).toEqual(Uint8Array.of(10, 77, 0, 1));
    expect(r.options.has(DhcpOption.IpAddressLeaseTime)).toBe(false);
    expect(r.options.has(DhcpOption.IpxeEncapsulated)).toBe(false);
  });

  it('offers a UEFI client its loader without option 43', async () => {
    const p = craft({ mac: randomMac(), arch: 7, vendorClass: pxeClass(7) });
    await raw.send(p, '10.77.0.255');
    const r = (await raw.reply(p.xid))!.packet;
    expect(r.file).toBe('snponly.efi');
    expect(r.options.has(DhcpOption.VendorSpecificInformation)).toBe(false);
  });

  it('ACKs a REQUEST on port 4011 back to the sender with the boot file', async () => {
    const r4011 = await RawClient.open(client, lab.clients[0]!.iface, 0);
    const p = craft({
      mac: randomMac(),
      type: DhcpMessageType.Request,
      arch: 0,
      vendorClass: pxeClass(0),
      userClass: 'iPXE',
      ciaddr: '10.77.0.250',
    });
    await r4011.send(p, '10.77.0.1', 4011);
    const r = await r4011.reply(p.xid);
    expect(r?.from).toBe('10.77.0.1:4011');
    expect(r?.packet.options.get(DhcpOption.DhcpMessageType)).toEqual(Uint8Array.of(DhcpMessageType.Ack));
    expect(r?.packet.file).toBe(SCRIPT);
    expect(r?.packet.ciaddr).toBe('10.77.0.250');
    await server.waitFor((e) => e.type === 'boot' && e.payload?.message === 'proxy-ack', 2000);
  });

  it('stays silent for plain DHCP clients and for REQUESTs to the real DHCP server', async () => {
    const plain = craft({ mac: randomMac(), uuid: null });
    const other = craft({
      mac: randomMac(),
      type: DhcpMessageType.Request,
      serverId: '10.77.0.2',
      requestedIp: '10.77.0.100',
      arch: 0,
      vendorClass: pxeClass(0),
    });
    await Promise.all([raw.send(plain, '10.77.0.255'), raw.send(other, '10.77.0.255')]);
    const [a, b] = await Promise.all([raw.reply(plain.xid, 1500), raw.reply(other.xid, 1500)]);
    expect(a).toBeNull();
    expect(b).toBeNull();
    const reasons = server.serverEvents('p', 'ignored').map((e) => e.reason);
    expect(reasons).toEqual(expect.arrayContaining(['not-boot-client', 'other-server']));
  });
});

describe('interface binding and startup checks', () => {
  let lab: Lab;
  let server: Agent;
  let onBridge: Agent;
  let elsewhere: Agent;
  let nsOther: Netns;

  beforeAll(async () => {
    lab = await createLab();
    const c = lab.clients[0]!;
    await c.ns.ip('addr', 'add', '10.77.0.250/24', 'brd', '+', 'dev', c.iface);
    // A second server interface, other0 (10.78.0.1/24), wired to its own client namespace.
    nsOther = await lab.server.addHost({
      suffix: 'o',
      iface: 'cli0',
      port: 'other0',
      bridge: false,
      addresses: ['10.78.0.250/24'],
    });
    await lab.server.ip('addr', 'add', '10.78.0.1/24', 'brd', '+', 'dev', 'other0');
    server = await Agent.start(lab.server);
    onBridge = await Agent.start(c.ns);
    elsewhere = await Agent.start(nsOther);
  });
  afterAll(async () => {
    await Promise.all([elsewhere?.dispose(), onBridge?.dispose(), server?.dispose()]);
    await nsOther?.close();
    await lab?.dispose();
  });

  it('does not hear a DISCOVER on an interface it was not given', async () => {
    await server.call('startServer', {
      name: 'b',
      opts: {
        interface: 'br0',
        serverAddress: '10.77.0.1',
        mode: 'server',
        range: { start: '10.77.0.100', end: '10.77.0.110' },
        plan: { static: { scriptUrl: SCRIPT } },
      },
    });
    try {
      const far = await RawClient.open(elsewhere, 'cli0');
      const near = await RawClient.open(onBridge, lab.clients[0]!.iface);
      const p1 = craft({ mac: randomMac() });
      await far.send(p1, '10.78.0.255');
      await far.send(craft({ mac: randomMac() }), '10.78.0.1');
      expect(await far.reply(p1.xid, 1500)).toBeNull();
      expect((await server.call<{ received: number }>('stats', { name: 'b' })).received).toBe(0);
      const p2 = craft({ mac: randomMac() });
      await near.send(p2, '10.77.0.255');
      expect((await near.reply(p2.xid))?.packet.yiaddr).toBe('10.77.0.100');
    } finally {
      await server.call('stopServer', { name: 'b' });
    }
  });

  it.each([
    ['limited', true],
    ['subnet', false],
  ])(
    'with broadcast "%s", a client that has no address yet hears the OFFER: %s',
    async (broadcast, heard) => {
      // A fresh client namespace without any IPv4 address, as firmware is before its first lease.
      const c = await addClient(lab);
      const a = await Agent.start(c.ns);
      try {
        await server.call('startServer', {
          name: `bc-${broadcast}`,
          opts: {
            interface: 'br0',
            serverAddress: '10.77.0.1',
            mode: 'server',
            broadcast,
            range: { start: '10.77.0.100', end: '10.77.0.110' },
            plan: { static: { scriptUrl: SCRIPT } },
          },
        });
        const raw = await RawClient.open(a, c.iface);
        const p = craft({ mac: c.mac });
        await raw.send(p, '255.255.255.255');
        await server.waitFor(
          (e) => e.name === `bc-${broadcast}` && e.type === 'lease' && e.payload?.mac === c.mac,
          3000,
        );
        expect((await raw.reply(p.xid, 1500)) !== null).toBe(heard);
      } finally {
        await a.dispose();
        await server.call('stopServer', { name: `bc-${broadcast}` });
      }
    },
  );

  it('refuses to start on a missing interface, a foreign address or a range outside the subnet', async () => {
    const base = {
      serverAddress: '10.77.0.1',
      mode: 'server',
      range: { start: '10.77.0.100', end: '10.77.0.110' },
      plan: { static: { scriptUrl: SCRIPT } },
    };
    await expect(
      server.call('startServer', { name: 'x', opts: { ...base, interface: 'nope0' } }),
    ).rejects.toMatchObject({ code: 'PXE_INTERFACE_NOT_FOUND' });
    await expect(
      server.call('startServer', { name: 'x', opts: { ...base, interface: 'other0' } }),
    ).rejects.toMatchObject({
      code: 'PXE_ADDRESS_NOT_ON_INTERFACE',
      hint: 'add it with: ip addr add 10.77.0.1/24 brd + dev other0',
    });
    await expect(
      server.call('startServer', {
        name: 'x',
        opts: { ...base, interface: 'br0', range: { start: '10.78.0.5', end: '10.78.0.9' } },
      }),
    ).rejects.toMatchObject({ code: 'PXE_BAD_OPTION' });
  });

  it('releases port 67 when the proxy port cannot be bound', async () => {
    await server.call('udpOpen', { name: 'squat', port: 4011 });
    const opts = {
      interface: 'br0',
      serverAddress: '10.77.0.1',
      mode: 'proxy',
      plan: { static: { scriptUrl: SCRIPT } },
    };
    await expect(server.call('startServer', { name: 'y', opts })).rejects.toMatchObject({
      code: 'PXE_BIND',
      hint: expect.stringContaining('UDP port 4011'),
    });
    await server.call('udpClose', { name: 'squat' });
    await server.call('startServer', { name: 'y', opts });
    await server.call('stopServer', { name: 'y' });
  });
});
