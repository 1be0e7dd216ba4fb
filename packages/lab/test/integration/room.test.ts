// A room's network, as root: the bridge and taps exist, the VMs' MACs and taps line up, the site's
// DHCP server leases an address to a real client (busybox udhcpc), and close() removes it all.
import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRoom, findTool, LabError, LabErrorCode } from '../../src/index.js';

const namespaces = () => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'bt-room-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('createRoom', () => {
  it("makes the room's network with a site DHCP server that leases, and removes it all", async () => {
    const lines: string[] = [];
    const room = await createRoom({
      address: '10.77.41.1/24',
      vms: 2,
      workDir: work,
      siteDhcp: true,
      prefix: 'btroomt',
      logger: { info: (l) => lines.push(l) },
    });
    let client = '';
    try {
      expect(room.netns.name).toMatch(/^btroomt-[0-9a-f]+$/);
      expect(room.macs).toEqual(['52:54:00:77:00:10', '52:54:00:77:00:11']);
      expect(room.vmNetwork(1, 'e1000')).toEqual({
        netns: room.netns,
        nic: { tap: 'tap1', mac: '52:54:00:77:00:11', model: 'e1000' },
      });
      const ports = await room.netns.ip('-o', 'link', 'show', 'master', 'br0');
      for (const dev of ['tap0', 'tap1', 'site0'])
        expect(ports).toMatch(new RegExp(`^\\d+: ${dev}[@:]`, 'm'));
      const addrs = await room.netns.ip('-o', 'addr', 'show', 'dev', 'br0');
      expect(addrs).toContain('inet 10.77.41.1/24');
      expect(addrs).toContain('inet6 fd77::1/64');
      expect(lines).toEqual([
        `network: namespace ${room.netns.name}, bridge br0 10.77.41.1/24, 2 taps`,
        `site DHCP server: dnsmasq on ${room.netns.name}-site (10.77.41.50–10.77.41.99)`,
      ]);

      // A machine on the room's LAN asks for an address: the site's dnsmasq answers from its pool.
      const host = await room.netns.addHost({ suffix: 'pc', port: 'pc0' });
      client = host.name;
      const script = join(work, 'udhcpc.sh');
      await writeFile(script, '#!/bin/sh\n[ "$1" = bound ] && echo "bound ip=$ip subnet=$subnet"\nexit 0\n');
      await chmod(script, 0o755);
      const out = await host.run(findTool('busybox'), [
        'udhcpc',
        '-f',
        '-q',
        '-n',
        '-i',
        'eth0',
        '-s',
        script,
        '-t',
        '10',
        '-T',
        '1',
      ]);
      expect(out).toMatch(/bound ip=10\.77\.41\.(5\d|[6-9]\d) subnet=255\.255\.255\.0/);
    } finally {
      await room.close();
    }
    const left = namespaces();
    for (const n of [room.netns.name, `${room.netns.name}-site`, client]) expect(left).not.toContain(n);
    await room.close(); // idempotent
  });

  it('refuses an IPv6 address or too many VMs before creating anything', async () => {
    const mine = () => namespaces().includes(`btroomt-${process.pid.toString(16)}`);
    for (const o of [
      { address: 'fd77::1/64', vms: 1 },
      { address: '10.77.41.1', vms: 1 },
      { address: '10.77.41.1/24', vms: 241 },
    ]) {
      const err = await createRoom({ ...o, workDir: work, prefix: 'btroomt' }).catch((e: unknown) => e);
      expect(err, JSON.stringify(o)).toBeInstanceOf(LabError);
      expect((err as LabError).code).toBe(LabErrorCode.BadOption);
      expect((err as LabError).hint).not.toBe('');
    }
    expect(mine()).toBe(false);
  });
});
