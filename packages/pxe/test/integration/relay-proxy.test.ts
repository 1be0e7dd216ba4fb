// proxyDHCP behind a real relay: ISC dhcrelay forwards a far PXE client's DISCOVER to the site's
// DHCP server (dnsmasq, which leases from the relayed subnet) and to our proxy. The client gets both
// offers through the relay: the address from dnsmasq, the boot file from us; then its REQUEST to our
// port 4011, sent straight through the router, is ACKed with the boot file.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DhcpMessageType, DhcpOption } from '../../src/constants.js';
import { Agent } from './helpers/agent.js';
import { startDnsmasq } from './helpers/dnsmasq.js';
import { RawClient } from './helpers/exchange.js';
import { craft, pxeClass } from './helpers/packets.js';
import { createRelayRoom, startDhcrelay, type Proc, type RelayRoom } from './helpers/relay.js';

const N = 26;
const SITE = `10.77.${N}.2`;

describe('proxy mode behind ISC dhcrelay', () => {
  let room: RelayRoom;
  let server: Agent;
  let client: Agent;
  let relay: Proc;
  let site: ReturnType<typeof startDnsmasq>;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'btpxe-relayproxy-'));
    room = await createRelayRoom(N, [SITE]);
    // The site's DHCP server, in its own namespace on the server's segment, leasing to the far subnet.
    const siteNs = await room.lab.server.addHost({
      suffix: 'site',
      iface: 'eth0',
      addresses: [`${SITE}/24`],
    });
    await siteNs.ip('route', 'add', `10.78.${N}.0/24`, 'via', `10.77.${N}.254`);
    site = startDnsmasq(siteNs, [
      '--interface=eth0',
      `--dhcp-range=10.78.${N}.200,10.78.${N}.220,255.255.255.0,10m`,
      '--dhcp-authoritative',
      '--log-dhcp',
    ]);
    server = await Agent.start(room.lab.server);
    await server.call('startServer', {
      name: 'p',
      opts: {
        interface: 'br0',
        serverAddress: room.server,
        mode: 'proxy',
        plan: { static: { scriptUrl: `http://${room.server}:8080/boot.ipxe` } },
      },
    });
    relay = await startDhcrelay(room, join(dir, 'dhcrelay.pid'));
    client = await Agent.start(room.client);
  });
  afterAll(async () => {
    await client?.dispose();
    await relay?.stop();
    await site?.stop();
    await server?.dispose();
    await room?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('gets the address from the site and the boot file from us, both through the relay, then ACK on 4011', async () => {
    const raw = await RawClient.open(client, room.client.iface);
    const mac = room.client.mac;
    const discover = craft({ mac, arch: 0, vendorClass: pxeClass(0) });
    await raw.send(discover, '255.255.255.255');
    await client.waitFor(() => raw.replies(discover.xid).length >= 2, 20_000);
    const offers = raw.replies(discover.xid).map((r) => r.packet);
    const fromSite = offers.find((p) => p.yiaddr !== '0.0.0.0');
    const fromUs = offers.find((p) => p.yiaddr === '0.0.0.0');
    expect(fromSite?.yiaddr).toMatch(new RegExp(`^10\\.78\\.${N}\\.2[0-2]\\d$`));
    expect(fromUs?.file).toBe('undionly.kpxe');
    expect(Buffer.from(fromUs!.options.get(DhcpOption.VendorClassIdentifier)!).toString()).toBe('PXEClient');
    expect(fromUs!.options.get(DhcpOption.ServerIdentifier)).toEqual(
      Uint8Array.from(room.server.split('.').map(Number)),
    );
    expect(server.serverEvents('p', 'boot')).toContainEqual(
      expect.objectContaining({ mac, message: 'offer' }),
    );

    // With the site's address configured, the PXE client asks our boot server (port 4011) directly.
    await room.client.ip('addr', 'add', `${fromSite!.yiaddr}/24`, 'dev', room.client.iface);
    await room.client.ip('route', 'add', 'default', 'via', room.giaddr);
    const pxe = await RawClient.open(client, room.client.iface, 4011);
    const request = craft({
      mac,
      arch: 0,
      vendorClass: pxeClass(0),
      type: DhcpMessageType.Request,
      ciaddr: fromSite!.yiaddr,
    });
    await pxe.send(request, room.server, 4011);
    const ack = await pxe.reply(request.xid, 20_000);
    expect(ack?.packet.options.get(DhcpOption.DhcpMessageType)).toEqual(Uint8Array.of(DhcpMessageType.Ack));
    expect(ack?.packet.file).toBe('undionly.kpxe');
    expect(ack?.from).toBe(`${room.server}:4011`);
  });
});
