// ISC dhclient against our server mode: lease, renewal at T1 (unicast), release.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from './helpers/agent.js';
import { startDhclient } from './helpers/clients.js';
import { createLab, type Lab } from './helpers/netns.js';
import { serverOpts } from './helpers/options.js';

describe('server mode with ISC dhclient', () => {
  let lab: Lab;
  let agent: Agent;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'btpxe-'));
    lab = await createLab();
    agent = await Agent.start(lab.server);
  });
  afterAll(async () => {
    await agent?.dispose();
    await lab?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('binds, renews the same address at T1, and releases it', async () => {
    const c0 = lab.clients[0]!;
    // 4 s leases: dhclient renews (unicast, ciaddr set) after about 2 s.
    await agent.call('startServer', { name: 'd', opts: serverOpts(join(dir, 'leases.json'), 4) });
    const c = await startDhclient(c0.ns, c0.iface, dir);
    try {
      const bound = await c.waitLine((l) => l.startsWith('BOUND'), 30_000);
      expect(bound).toContain('ip=10.77.0.100');
      expect(bound).toContain('serverid=10.77.0.1');
      const renew = await c.waitLine((l) => l.startsWith('RENEW'), 20_000);
      expect(renew).toContain('ip=10.77.0.100');
      const acks = agent.serverEvents('d', 'lease').filter((e) => e.type === 'acked' && e.mac === c0.mac);
      expect(acks.length).toBeGreaterThanOrEqual(2);
      await c.release();
      await agent.waitFor(
        (e) => e.type === 'lease' && e.payload?.type === 'released' && e.payload.mac === c0.mac,
        15_000,
      );
    } finally {
      await c.stop();
    }
  });
});
