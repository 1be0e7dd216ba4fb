// UEFI HTTP boot with real firmware: OVMF (Debian's, built with HTTP boot) with its PXE turned off
// asks DHCP as HTTPClient, is offered http://SERVER:8080/snponly.efi, fetches it from the boot
// server's HTTP side, and the iPXE it starts runs our script and fetches phase-1.
import { readFile, rm } from 'node:fs/promises';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNetns, randomMac, startVm, type Netns, type Vm } from '@boottorrent/testing/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNsServer, type NsServer } from './_ns-boot.js';

const SERVER = '10.77.24.1';
let dir: string;
let ns: Netns;
let server: NsServer;
let vm: Vm | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bt-ovmf-http-'));
  ns = await createNetns({
    prefix: 'btsrvhb',
    bridge: { addresses: [`${SERVER}/24`], carrier: true },
    taps: 1,
  });
  server = await startNsServer(
    ns,
    join(dir, 'project'),
    SERVER,
    [
      `general: { host_ip: ${SERVER}, timeout: 0, seed_time: 0 }`,
      'dhcp: { interface: br0, range: { start: 10.77.24.100, end: 10.77.24.150 } }',
      'phase1: { compression: zstd, level: 1 }',
      '',
    ].join('\n'),
  );
}, 330_000);

afterAll(async () => {
  await vm?.close();
  await server?.close();
  await ns?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('OVMF UEFI HTTP boot', () => {
  it(
    'fetches snponly.efi over HTTP from the offered URL and chains into phase-1',
    { timeout: 600_000 },
    async () => {
      const mac = randomMac();
      vm = await startVm({
        name: 'httpboot',
        netns: ns,
        firmware: 'uefi',
        // No option ROM (the firmware's own network stack) and no PXE: only HTTP boot is left.
        nic: { tap: ns.taps[0]!, mac, romfile: '' },
        extraArgs: [
          '-fw_cfg',
          'name=opt/org.tianocore/IPv4PXESupport,string=n',
          '-fw_cfg',
          'name=opt/org.tianocore/IPv6PXESupport,string=n',
        ],
        workDir: dir,
        consoleFile: join(dir, 'console.log'),
      });
      const { events, until } = server;
      const offer = await until(
        'HTTP boot offer',
        () => events.find((e) => e.type === 'boot' && e.mac === mac && e.loader.startsWith('http')),
        300_000,
      );
      expect(offer).toMatchObject({ loader: `http://${SERVER}:8080/snponly.efi`, firmware: 'EfiX8664Http' });
      const size = (await readFile('/usr/lib/ipxe/snponly.efi')).length;
      await until(
        'GET /snponly.efi',
        () =>
          events.find(
            (e) => e.type === 'http' && e.method === 'GET' && e.path === '/snponly.efi' && e.status === 200,
          ),
        300_000,
      ).then((e) => expect(e).toMatchObject({ bytes: size }));
      // The iPXE it started asks for our script by MAC, then for phase-1's kernel.
      await until(
        'phase-1 kernel fetched',
        () => events.find((e) => e.type === 'http' && e.path.startsWith('/phase1/') && e.status === 200),
        300_000,
      );
      expect(vm.output()).toMatch(/UEFI HTTPv4/);
      expect(
        events.some(
          (e) => e.type === 'http' && e.path.startsWith(`/boot.ipxe?mac=${encodeURIComponent(mac)}`),
        ),
      ).toBe(true);
    },
  );
});
