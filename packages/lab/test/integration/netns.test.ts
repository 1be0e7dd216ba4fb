// Real namespaces, as root: what createNetns makes exists, works (a host pings the bridge), and is
// gone after close(), also when setup fails half-way or is aborted.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createNetns, findTool, LabError } from '../../src/index.js';

const namespaces = () => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
/** This test process's namespaces with `prefix` (names are `<prefix>-<pid in hex>…`). */
const mine = (prefix: string) =>
  namespaces()
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n.startsWith(`${prefix}-${process.pid.toString(16)}`));

describe('createNetns', () => {
  it('makes a bridge with addresses, taps and a second host, runs commands inside, and removes it all', async () => {
    const ns = await createNetns({
      prefix: 'btlabt',
      bridge: { addresses: ['10.77.9.1/24', 'fd77:9::1/64'], carrier: true },
      taps: 2,
    });
    let hostName = '';
    try {
      expect(ns.name).toMatch(/^btlabt-[0-9a-f]+$/);
      expect(ns.taps).toEqual(['tap0', 'tap1']);
      expect(await ns.addTap()).toBe('tap2');
      const links = await ns.ip('-o', 'link', 'show');
      for (const dev of ['br0', 'tap0', 'tap1', 'tap2', 'br0-up', 'br0-peer'])
        expect(links).toMatch(new RegExp(`^\\d+: ${dev}[@:]`, 'm'));
      const ports = await ns.ip('-o', 'link', 'show', 'master', 'br0');
      for (const dev of ['tap0', 'tap1', 'tap2', 'br0-up'])
        expect(ports).toMatch(new RegExp(`^\\d+: ${dev}[@:]`, 'm'));
      const addrs = await ns.run('ip', ['-o', 'addr', 'show', 'dev', 'br0']);
      expect(addrs).toContain('inet 10.77.9.1/24 brd 10.77.9.255');
      expect(addrs).toContain('inet6 fd77:9::1/64');
      // The carrier port keeps the bridge up before any VM opens a tap.
      expect(await ns.ip('-o', 'link', 'show', 'br0')).toMatch(/state UP/);

      const host = await ns.addHost({ suffix: 'site', port: 'site0', addresses: ['10.77.9.2/24'] });
      hostName = host.name;
      expect(host.name).toBe(`${ns.name}-site`);
      expect(host.iface).toBe('eth0');
      expect(await host.ip('-o', 'link', 'show', 'eth0')).toContain(`link/ether ${host.mac}`);
      expect(await ns.ip('-o', 'link', 'show', 'master', 'br0')).toContain('site0@');
      const ping = await host.run(findTool('busybox'), ['ping', '-c', '1', '-W', '5', '10.77.9.1']);
      expect(ping).toMatch(/1 packets received/);

      // A process started inside sees only the namespace's interfaces.
      const child = host.spawn('ip', ['-o', 'link', 'show'], { stdio: ['ignore', 'pipe', 'ignore'] });
      let seen = '';
      child.stdout!.on('data', (d: Buffer) => (seen += d.toString()));
      await new Promise((r) => child.once('close', r));
      expect(seen).toMatch(/^\d+: eth0@/m);
      expect(seen).not.toMatch(/br0|tap0/);
    } finally {
      await ns.close();
    }
    expect(namespaces()).not.toContain(ns.name);
    expect(existsSync(`/run/netns/${ns.name}`)).toBe(false);
    expect(existsSync(`/run/netns/${hostName}`)).toBe(false);
    await ns.close(); // idempotent
    await ns[Symbol.asyncDispose]();
  });

  it('gives parallel callers different namespaces', async () => {
    const all = await Promise.all(Array.from({ length: 4 }, () => createNetns({ prefix: 'btlabp' })));
    try {
      expect(new Set(all.map((n) => n.name)).size).toBe(4);
      expect(mine('btlabp')).toHaveLength(4);
    } finally {
      await Promise.all(all.map((n) => n.close()));
    }
    expect(mine('btlabp')).toEqual([]);
  });

  it('removes a half-made namespace when a step fails, and says which command failed', async () => {
    const err = await createNetns({ prefix: 'btlabf', bridge: {}, taps: ['tapx', 'tapx'] }).catch((e) => e);
    expect(err).toBeInstanceOf(LabError);
    expect(err).toMatchObject({
      code: 'LAB_COMMAND',
      message: expect.stringContaining('tuntap add dev tapx'),
    });
    expect(mine('btlabf')).toEqual([]);
  });

  it('removes a half-made namespace when aborted', async () => {
    const ac = new AbortController();
    const pending = createNetns({ prefix: 'btlaba', bridge: {}, taps: 8, signal: ac.signal });
    setImmediate(() => ac.abort());
    await expect(pending).rejects.toMatchObject({ code: 'LAB_ABORTED' });
    expect(mine('btlaba')).toEqual([]);
  });

  it('refuses bad options before creating anything', async () => {
    await expect(createNetns({ prefix: 'btlabo', taps: 1 })).rejects.toMatchObject({
      code: 'LAB_BAD_OPTION',
      hint: expect.stringContaining('bridge'),
    });
    await expect(
      createNetns({ prefix: 'btlabo', bridge: { addresses: ['10.77.0.1'] } }),
    ).rejects.toMatchObject({
      code: 'LAB_BAD_OPTION',
    });
    expect(mine('btlabo')).toEqual([]);
  });
});
