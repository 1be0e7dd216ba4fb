// busybox udhcpc against our server mode: lease, renew, release, and a lease that survives a restart.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from './helpers/agent.js';
import { startUdhcpc } from './helpers/clients.js';
import { createLab, type Lab } from './helpers/netns.js';
import { serverOpts } from './helpers/options.js';

describe('server mode with busybox udhcpc', () => {
  let lab: Lab;
  let agent: Agent;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'btpxe-'));
    lab = await createLab({ clients: 2 });
    agent = await Agent.start(lab.server);
  });
  afterAll(async () => {
    await agent?.dispose();
    await lab?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('leases, renews, keeps the address across a server restart, then releases', async () => {
    const leaseFile = join(dir, 'leases.json');
    const [a, b] = lab.clients as [Lab['clients'][0], Lab['clients'][0]];
    await agent.call('startServer', { name: 's1', opts: serverOpts(leaseFile) });
    const c = await startUdhcpc(a.ns, a.iface, dir);
    try {
      const bound = await c.waitLine((l) => l.startsWith('bound'), 30_000);
      expect(bound).toContain('ip=10.77.0.100');
      expect(bound).toContain('serverid=10.77.0.1');
      expect(bound).toContain('lease=30');
      let n = (await c.lines()).length;
      c.proc.kill('SIGUSR1');
      expect(await c.waitLine((l) => /^(renew|bound)/.test(l), 20_000, n)).toContain('ip=10.77.0.100');
      expect(
        agent.serverEvents('s1', 'lease').filter((e) => e.type === 'acked' && e.mac === a.mac),
      ).toHaveLength(2);
      await agent.call('stopServer', { name: 's1' });
      const file = JSON.parse(await readFile(leaseFile, 'utf8')) as { leases: object[] };
      expect(file.leases).toContainEqual(
        expect.objectContaining({ mac: a.mac, ip: '10.77.0.100', state: 'bound' }),
      );

      // A new server process state from the same file: a newcomer asks first and gets another address.
      await agent.call('startServer', { name: 's2', opts: serverOpts(leaseFile) });
      const other = await startUdhcpc(b.ns, b.iface, dir, ['-q']);
      try {
        expect(await other.waitLine((l) => l.startsWith('bound'), 30_000)).toContain('ip=10.77.0.101');
      } finally {
        await other.stop();
      }
      // Our client renews with the restarted server and keeps its address.
      n = (await c.lines()).length;
      c.proc.kill('SIGUSR1');
      expect(await c.waitLine((l) => /^(renew|bound)/.test(l), 20_000, n)).toContain('ip=10.77.0.100');
      expect(agent.serverEvents('s2', 'lease')).toContainEqual(
        expect.objectContaining({ type: 'acked', mac: a.mac, ip: '10.77.0.100' }),
      );

      c.proc.kill('SIGUSR2');
      await agent.waitFor(
        (e) => e.name === 's2' && e.type === 'lease' && e.payload?.type === 'released',
        10_000,
      );
      const leases = await agent.call<{ mac: string; state: string }[]>('leases', { name: 's2' });
      expect(leases.find((l) => l.mac === a.mac)?.state).toBe('free');
    } finally {
      await c.stop();
    }
  });
});
