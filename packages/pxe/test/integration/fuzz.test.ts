// 100,000 random and mutated packets over the wire at a running server, then a normal lease.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DhcpMessageType } from '../../src/constants.js';
import { Agent } from './helpers/agent.js';
import { startUdhcpc } from './helpers/clients.js';
import { createLab, randomMac, type Lab, type Netns } from './helpers/netns.js';
import { b64, craft, pxeClass } from './helpers/packets.js';

const COUNT = 100_000;

/** UDP datagrams the kernel dropped in `ns` because a socket's receive buffer was full. */
async function udpRcvbufErrors(ns: Netns): Promise<number> {
  const snmp = await ns.run('cat', ['/proc/net/snmp']);
  const [head, values] = snmp.split('\n').filter((l) => l.startsWith('Udp:'));
  const i = head!.split(/\s+/).indexOf('RcvbufErrors');
  return Number(values!.split(/\s+/)[i]);
}
const SEED = Number(process.env.BTPXE_FUZZ_SEED ?? 0x5eed);

describe('fuzzing the server', () => {
  let lab: Lab;
  let server: Agent;
  let fuzzer: Agent;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'btpxe-'));
    lab = await createLab({ cidr: '10.77.0.1/16', clients: 2 });
    await lab.clients[1]!.ns.ip('addr', 'add', '10.77.0.250/16', 'brd', '+', 'dev', 'cli0');
    server = await Agent.start(lab.server);
    fuzzer = await Agent.start(lab.clients[1]!.ns);
  });
  afterAll(async () => {
    await fuzzer?.dispose();
    await server?.dispose();
    await lab?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it(
    `survives ${COUNT} random and mutated packets and still leases normally`,
    { timeout: 120_000 },
    async () => {
      await server.call('startServer', {
        name: 'f',
        opts: {
          interface: 'br0',
          serverAddress: '10.77.0.1',
          mode: 'server',
          range: { start: '10.77.1.0', end: '10.77.255.254' },
          leaseFile: join(dir, 'leases.json'),
          plan: { static: { scriptUrl: 'http://10.77.0.1:8080/boot.ipxe' } },
        },
      });
      const s = '10.77.0.1';
      const templates = [
        craft({
          mac: randomMac(),
          arch: 0,
          vendorClass: pxeClass(0),
          userClass: 'iPXE',
          paramList: [1, 3, 6, 43, 60, 66, 67, 175],
        }),
        craft({ mac: randomMac(), arch: 7, vendorClass: pxeClass(7), ipxe175: true }),
        craft({ mac: randomMac(), type: DhcpMessageType.Request, serverId: s, requestedIp: '10.77.1.7' }),
        craft({ mac: randomMac(), type: DhcpMessageType.Release, serverId: s, ciaddr: '10.77.1.8' }),
        craft({ mac: randomMac(), type: DhcpMessageType.Decline, serverId: s, requestedIp: '10.77.1.9' }),
        craft({ mac: randomMac(), type: DhcpMessageType.Inform, ciaddr: '10.77.0.250' }),
      ].map(b64);
      await fuzzer.call('udpOpen', { name: 'fz', port: 0, iface: 'cli0' });
      const kernelDropsBefore = await udpRcvbufErrors(lab.server);
      const r = await fuzzer.call<{ sent: number }>('fuzz', {
        name: 'fz',
        count: COUNT,
        seed: SEED,
        address: s,
        port: 67,
        templates,
      });
      expect(r.sent).toBe(COUNT);
      // Let the server drain its queue, then check it counted what it threw away.
      let stats = await server.call<{
        received: number;
        dropped: number;
        droppedByReason: Record<string, number>;
      }>('stats', { name: 'f' });
      for (let i = 0; i < 50; i++) {
        await new Promise((res) => setTimeout(res, 200));
        const next = await server.call<typeof stats>('stats', { name: 'f' });
        if (next.received === stats.received) break;
        stats = next;
      }
      // The kernel drops what a busy server cannot read in time (how many depends on the machine's
      // load): every packet is either read by the server or counted by the kernel as a buffer drop.
      const kernelDrops = (await udpRcvbufErrors(lab.server)) - kernelDropsBefore;
      expect(stats.received + kernelDrops).toBeGreaterThanOrEqual(COUNT * 0.99);
      expect(stats.received).toBeGreaterThan(1000);
      expect(stats.dropped).toBeGreaterThan(stats.received / 20);
      for (const reason of ['truncated', 'bad-cookie', 'option-overrun', 'overload-loop'])
        expect(stats.droppedByReason[reason]).toBeGreaterThan(0);
      expect(stats.droppedByReason['internal-error']).toBeUndefined();

      const c0 = lab.clients[0]!;
      const c = await startUdhcpc(c0.ns, c0.iface, dir, ['-q']);
      try {
        expect(await c.waitLine((l) => l.startsWith('bound'), 30_000)).toMatch(/ip=10\.77\.\d+\.\d+ /);
      } finally {
        await c.stop();
      }
    },
  );
});
