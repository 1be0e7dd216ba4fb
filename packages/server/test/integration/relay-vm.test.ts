// The gold standard for a relayed room: a QEMU VM (SeaBIOS + iPXE ROM) on a far segment behind ISC
// dhcrelay boots through the whole chain into its OS: DHCP through the relay from dhcp.subnets,
// boot.ipxe and phase-1 over HTTP through the router, phase-1's own DHCP through the relay again,
// the agent, the BitTorrent download of the `hello` OS that `init` writes, and that OS's greeting.
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createNetns,
  findTool,
  randomMac,
  startVm,
  type Netns,
  type NetnsHost,
  type Vm,
} from '@boottorrent/testing/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, startNsServer, type NsServer } from './_ns-boot.js';

const DHCRELAY = join(REPO, '.cache/deb/isc-dhcp-relay/usr/sbin/dhcrelay'); // tools/setup.sh unpacks it
const SERVER = '10.77.25.1';
const GIADDR = '10.78.25.1';

let dir: string;
let ns: Netns;
let router: NetnsHost;
let server: NsServer;
let relay: ChildProcess | undefined;
let vm: Vm | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bt-relay-vm-'));
  ns = await createNetns({ prefix: 'btsrvrv', bridge: { addresses: [`${SERVER}/24`], carrier: true } });
  router = await ns.addHost({ suffix: 'rt', iface: 'up0', port: 'rtport', addresses: ['10.77.25.254/24'] });
  // The far segment: a bridge in the router holding the relay's address, an always-up port for
  // carrier, and the VM's tap.
  await router.ip('link', 'add', 'far0', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0');
  await router.ip('addr', 'add', `${GIADDR}/24`, 'brd', '+', 'dev', 'far0');
  await router.ip('link', 'set', 'far0', 'up');
  await router.ip('link', 'add', 'far0-up', 'type', 'veth', 'peer', 'name', 'far0-peer');
  await router.ip('link', 'set', 'far0-up', 'master', 'far0');
  await router.ip('link', 'set', 'far0-up', 'up');
  await router.ip('link', 'set', 'far0-peer', 'up');
  await router.ip('tuntap', 'add', 'dev', 'tap0', 'mode', 'tap');
  await router.ip('link', 'set', 'tap0', 'master', 'far0');
  await router.ip('link', 'set', 'tap0', 'up');
  await router.run('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
  await ns.ip('route', 'add', '10.78.25.0/24', 'via', '10.77.25.254');
  server = await startNsServer(
    ns,
    join(dir, 'project'),
    SERVER,
    [
      `general: { host_ip: ${SERVER}, timeout: 0, seed_time: 0, default_os: hello }`,
      'dhcp:',
      '  interface: br0',
      '  range: { start: 10.77.25.100, end: 10.77.25.150 }',
      '  subnets:',
      '    - range: { start: 10.78.25.100, end: 10.78.25.150 }',
      `      router: ${GIADDR}`,
      'phase1: { compression: zstd, level: 1 }',
      '',
    ].join('\n'),
    { seeder: true },
  );
}, 330_000);

afterAll(async () => {
  await vm?.close();
  relay?.kill('SIGTERM');
  await server?.close();
  await ns?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('a VM behind ISC dhcrelay', () => {
  it('boots through the relay and the router into its OS', { timeout: 900_000 }, async () => {
    relay = router.spawn(
      findTool('dhcrelay', { paths: [DHCRELAY] }),
      ['-d', '-4', '-a', '-pf', join(dir, 'dhcrelay.pid'), '-iu', 'up0', '-id', 'far0', SERVER],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let relayOut = '';
    relay.stderr!.on('data', (d: Buffer) => (relayOut += d.toString()));
    await server.until(
      'dhcrelay listening',
      () => (/Listening on LPF\/far0/.test(relayOut) ? true : undefined),
      10_000,
    );
    const mac = randomMac();
    vm = await startVm({
      name: 'relayed',
      netns: router,
      firmware: 'bios',
      nic: { tap: 'tap0', mac },
      workDir: dir,
      consoleFile: join(dir, 'console.log'),
    });
    await vm.waitFor(/this machine booted over BitTorrent/, 840_000);
    const leases = server.events.filter((e) => e.type === 'lease' && e.kind === 'acked' && e.mac === mac);
    // iPXE's lease and phase-1's own, both from the relayed subnet's pool.
    expect(leases.length).toBeGreaterThanOrEqual(2);
    for (const l of leases) expect(l).toMatchObject({ ip: '10.78.25.100' });
    expect(server.events).toContainEqual(
      expect.objectContaining({
        type: 'http',
        path: expect.stringMatching(/^\/phase1\//),
        remote: '10.78.25.100',
      }),
    );
  });
});
