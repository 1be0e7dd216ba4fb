// The whole boot server in a network namespace, as real firmware would meet it: a UEFI HTTP boot
// DISCOVER is offered a URL that curl then fetches byte-exact; ARM64 and 32-bit UEFI get no offer
// and a refused event saying why; a machine behind ISC dhcrelay (router namespace, far segment)
// gets an address from config.yaml's dhcp.subnets and reaches the loader through the router.
import type { ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNetns, findTool, randomMac, type Netns, type NetnsHost } from '@boottorrent/testing/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, startNsServer, type NsServer } from './_ns-boot.js';

const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));
const DHCRELAY = join(REPO, '.cache/deb/isc-dhcp-relay/usr/sbin/dhcrelay'); // tools/setup.sh unpacks it
const SERVER = '10.77.22.1';
const GIADDR = '10.78.22.1';

let dir: string;
let ns: Netns;
let near: NetnsHost;
let router: NetnsHost;
let far: NetnsHost;
let server: NsServer;

/** Runs the crafted DHCP client in `host`; resolves with the offer (null when none came). */
async function probe(host: NetnsHost, arch: number, vendor: string, waitMs = 3000) {
  const out = await host.run(process.execPath, [
    here('./_dhcp-probe.mjs'),
    '10.77.22.255',
    String(arch),
    vendor,
    host.mac.replaceAll(':', ''),
    String(waitMs),
  ]);
  return (JSON.parse(out) as { offer: { file: string; vendorClass: string | null; yiaddr: string } | null })
    .offer;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bt-relay-httpboot-'));
  ns = await createNetns({ prefix: 'btsrvrl', bridge: { addresses: [`${SERVER}/24`], carrier: true } });
  near = await ns.addHost({ suffix: 'near', iface: 'cli0', addresses: ['10.77.22.50/24'] });
  router = await ns.addHost({ suffix: 'rt', iface: 'up0', port: 'rtport', addresses: ['10.77.22.254/24'] });
  far = await router.addHost({ suffix: 'far', iface: 'cli0', port: 'far0', bridge: false, mac: randomMac() });
  await router.ip('addr', 'add', `${GIADDR}/24`, 'brd', '+', 'dev', 'far0');
  await router.run('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
  await ns.ip('route', 'add', '10.78.22.0/24', 'via', '10.77.22.254');

  server = await startNsServer(
    ns,
    join(dir, 'project'),
    SERVER,
    [
      `general: { host_ip: ${SERVER}, timeout: 0, seed_time: 0 }`,
      'dhcp:',
      '  interface: br0',
      '  range: { start: 10.77.22.100, end: 10.77.22.150 }',
      '  subnets:',
      '    - range: { start: 10.78.22.100, end: 10.78.22.150 }',
      `      router: ${GIADDR}`,
      '      lease_time: 300',
      'phase1: { compression: zstd, level: 1 }',
      '',
    ].join('\n'),
  );
}, 330_000);

afterAll(async () => {
  await server?.close();
  await ns?.close();
  await rm(dir, { recursive: true, force: true });
});

const refusal = (mac: string, prefix: string) =>
  server.until(
    `refused ${prefix} for ${mac}`,
    () => server.events.find((e) => e.type === 'refused' && e.client === mac && e.reason.startsWith(prefix)),
    20_000,
  );

describe('UEFI HTTP boot and firmware the server cannot boot', () => {
  it('offers arch 16 an http URL to snponly.efi, which curl fetches byte-exact', async () => {
    const offer = await probe(near, 16, 'HTTPClient:Arch:00016:UNDI:003000', 20_000);
    expect(offer?.file).toBe(`http://${SERVER}:8080/snponly.efi`);
    expect(offer?.vendorClass).toBe('HTTPClient');
    const got = join(dir, 'snponly.efi');
    await near.run(findTool('curl'), ['-sSf', '-o', got, offer!.file]);
    expect((await readFile(got)).equals(await readFile('/usr/lib/ipxe/snponly.efi'))).toBe(true);
  });

  it('gives ARM64 no offer and says why', async () => {
    const [offer, e] = await Promise.all([
      probe(near, 11, 'PXEClient:Arch:00011:UNDI:003000'),
      refusal(near.mac, 'arch-unsupported'),
    ]);
    expect(e).toMatchObject({
      service: 'dhcp',
      reason: 'arch-unsupported: arm64 UEFI (arch 11), phase-1 is x86_64',
    });
    expect(offer).toBeNull();
  });

  it('gives 32-bit UEFI no offer, naming the loader Debian does not ship', async () => {
    const [offer, e] = await Promise.all([
      probe(near, 6, 'PXEClient:Arch:00006:UNDI:003000'),
      refusal(near.mac, 'loader-missing'),
    ]);
    expect(e).toMatchObject({
      reason: 'loader-missing: 32-bit UEFI (arch 6) needs ipxe-i386.efi, which this server does not have',
    });
    expect(offer).toBeNull();
  });
});

describe('a machine behind ISC dhcrelay', () => {
  it('leases from its dhcp.subnets entry and fetches its loader through the router', async () => {
    const relay = router.spawn(
      findTool('dhcrelay', { paths: [DHCRELAY] }),
      ['-d', '-4', '-a', '-pf', join(dir, 'dhcrelay.pid'), '-iu', 'up0', '-id', 'far0', SERVER],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let relayOut = '';
    relay.stderr!.on('data', (d: Buffer) => (relayOut += d.toString()));
    const log = join(dir, 'udhcpc.log');
    const script = join(dir, 'udhcpc.sh');
    const busybox = findTool('busybox', { paths: ['/usr/bin/busybox', '/bin/busybox'] });
    await writeFile(
      script,
      `#!/bin/sh
echo "$1 ip=$ip router=$router boot_file=$boot_file siaddr=$siaddr lease=$lease" >> ${log}
case "$1" in
  bound) ${busybox} ip addr add $ip/$subnet dev $interface; ${busybox} ip route add default via $router ;;
esac
exit 0
`,
    );
    await chmod(script, 0o755);
    let client: ChildProcess | undefined;
    try {
      await server.until(
        'dhcrelay listening',
        () => (/Listening on LPF\/far0/.test(relayOut) ? true : undefined),
        10_000,
      );
      client = far.spawn(
        busybox,
        [
          'udhcpc',
          '-f',
          '-i',
          'cli0',
          '-s',
          script,
          '-t',
          '20',
          '-T',
          '1',
          '-V',
          'PXEClient:Arch:00000:UNDI:002001',
        ],
        { stdio: 'ignore' },
      );
      let lines = '';
      const bound = await server.until(
        'udhcpc bound',
        () => {
          void readFile(log, 'utf8').then(
            (t) => (lines = t),
            () => undefined,
          );
          return lines.split('\n').find((l) => l.startsWith('bound'));
        },
        30_000,
      );
      expect(bound).toBe(
        `bound ip=10.78.22.100 router=${GIADDR} boot_file=undionly.kpxe siaddr=${SERVER} lease=300`,
      );
      const got = join(dir, 'undionly.kpxe');
      await far.run(findTool('curl'), ['-sSf', '-o', got, `http://${SERVER}:8080/undionly.kpxe`]);
      expect((await readFile(got)).equals(await readFile('/usr/lib/ipxe/undionly.kpxe'))).toBe(true);
      expect(server.events).toContainEqual(
        expect.objectContaining({ type: 'lease', kind: 'acked', mac: far.mac, ip: '10.78.22.100' }),
      );
    } finally {
      client?.kill('SIGTERM');
      relay.kill('SIGTERM');
    }
  });
});
