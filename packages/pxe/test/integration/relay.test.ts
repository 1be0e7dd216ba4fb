// A client behind a real DHCP relay (ISC dhcrelay in a router namespace) gets an address from its
// own subnet's pool and its boot file; option 82 goes to the server and comes back unchanged.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePacket } from '../../src/packet.js';
import { readPcap } from '../pcap.js';
import { Agent } from './helpers/agent.js';
import { startUdhcpc } from './helpers/clients.js';
import { createRelayRoom, startCapture, startDhcrelay, type RelayRoom } from './helpers/relay.js';

const N = 21;

describe('clients behind ISC dhcrelay', () => {
  let room: RelayRoom;
  let agent: Agent;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'btpxe-relay-'));
    room = await createRelayRoom(N);
    agent = await Agent.start(room.lab.server);
  });
  afterAll(async () => {
    await agent?.dispose();
    await room?.dispose();
    if (!process.env.KEEP) await rm(dir, { recursive: true, force: true });
  });

  it('leases from the relayed subnet with its router and boot file; 82 round-trips', async () => {
    const pcap = join(dir, 'relay.pcap');
    const capture = await startCapture(room, pcap);
    const relay = await startDhcrelay(room, join(dir, 'dhcrelay.pid'));
    await agent.call('startServer', {
      name: 'r',
      opts: {
        interface: 'br0',
        serverAddress: room.server,
        mode: 'server',
        range: { start: `10.77.${N}.100`, end: `10.77.${N}.120` },
        subnets: [
          {
            range: { start: `10.78.${N}.50`, end: `10.78.${N}.60` },
            subnetMask: '255.255.255.0',
            router: room.giaddr,
            leaseTime: 120,
          },
        ],
        plan: { static: { scriptUrl: `http://${room.server}:8080/boot.ipxe` } },
      },
    });
    // A BIOS PXE ROM's vendor class makes udhcpc a boot client, so it is given a boot file.
    const c = await startUdhcpc(room.client, room.client.iface, dir, [
      '-V',
      'PXEClient:Arch:00000:UNDI:002001',
    ]);
    try {
      const bound = await c.waitLine((l) => l.startsWith('bound'), 30_000);
      expect(bound).toContain(`ip=10.78.${N}.50`);
      expect(bound).toContain(`serverid=${room.server}`);
      expect(bound).toContain(`siaddr=${room.server}`);
      expect(bound).toContain('boot_file=undionly.kpxe');
      expect(bound).toContain('lease=120');
      expect(bound).toContain('subnet=255.255.255.0');
      // The ACK is on the server's wire once it is in the capture file.
      const acked = () =>
        readPcap(pcap).some(
          (r) => r.payload.length > 240 && decodePacket(r.payload).options.get(53)?.[0] === 5,
        );
      for (let i = 0; !acked(); i++) {
        if (i > 100) throw new Error(`no ACK captured: ${capture.output()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await c.stop();
      await relay.stop();
      await capture.stop();
    }
    expect(agent.serverEvents('r', 'lease')).toContainEqual(
      expect.objectContaining({ type: 'acked', mac: room.client.mac, ip: `10.78.${N}.50` }),
    );

    // On the server's wire: requests come from the relay with giaddr and option 82, and every
    // answer goes back to the relay's port 67 carrying the same option 82.
    const dhcp = readPcap(pcap).map((r) => ({ ...r, p: decodePacket(r.payload) }));
    const requests = dhcp.filter((r) => r.p.op === 1);
    const replies = dhcp.filter((r) => r.p.op === 2);
    expect(requests.length).toBeGreaterThanOrEqual(2);
    expect(replies.length).toBeGreaterThanOrEqual(2);
    const agentInfo = requests[0]!.p.options.get(82);
    expect(agentInfo, 'dhcrelay -a added option 82').toBeDefined();
    for (const r of requests) {
      expect(r.p.giaddr).toBe(room.giaddr);
      expect(r.p.options.get(82)).toEqual(agentInfo);
    }
    for (const r of replies) {
      expect([r.dst, r.dstPort]).toEqual([room.giaddr, 67]);
      expect(r.p.options.get(82)).toEqual(agentInfo);
      expect(r.p.options.get(3)).toEqual(Uint8Array.from(room.giaddr.split('.').map(Number)));
    }
    expect(replies.map((r) => r.p.options.get(53)?.[0])).toEqual(expect.arrayContaining([2, 5]));
  });
});
