// Real firmware: QEMU (TCG) PXE-boots from our DHCP up to a marker printed by an iPXE script.
// BIOS (SeaBIOS + QEMU's iPXE ROM) in server mode and in proxy mode beside dnsmasq's DHCP, and
// UEFI (OVMF's own PXE client) fetching snponly.efi over TFTP. Kept few: they dominate CI time.
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from './helpers/agent.js';
import { createLab, randomMac, type Lab } from './helpers/netns.js';
import { pxelinuxConfig } from '../../src/scripts.js';
import { startDnsmasq } from './helpers/dnsmasq.js';
import { startVm, type VmOptions } from '@boottorrent/testing/lab';

const HTTP_PORT = 8080;
const SCRIPT_URL = `http://10.77.0.1:${HTTP_PORT}/boot.ipxe`;

/** A VM on `tap` of the lab's bridge, PXE-booting (SeaBIOS + iPXE ROM unless told otherwise). */
const vmOn = (lab: Lab, tap: string, mac: string, more: Partial<VmOptions> = {}) =>
  startVm({ netns: lab.server, nic: { tap, mac }, memoryMb: 128, ...more });

describe('QEMU PXE boots from our DHCP', () => {
  let lab: Lab;
  let agent: Agent;
  let dir: string;
  let marker: string;
  let ra: ReturnType<typeof startDnsmasq>;
  let tftp: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'btpxe-'));
    lab = await createLab({ clients: 0 });
    await lab.server.ip('addr', 'add', 'fd77::1/64', 'dev', 'br0', 'nodad');
    agent = await Agent.start(lab.server);
    marker = `BTPXE-MARKER-${randomBytes(4).toString('hex')}`;
    // TFTP root: Debian's loaders, and a pxelinux.cfg from our builder whose kernel name is the marker.
    tftp = join(dir, 'tftp');
    await mkdir(join(tftp, 'pxelinux.cfg'), { recursive: true });
    for (const [from, to] of [
      ['/usr/lib/ipxe/snponly.efi', 'snponly.efi'],
      ['/usr/lib/PXELINUX/pxelinux.0', 'pxelinux.0'],
      ['/usr/lib/syslinux/modules/bios/ldlinux.c32', 'ldlinux.c32'],
    ] as const) {
      await copyFile(from, join(tftp, to)).catch((e: Error) => {
        throw new Error(
          `${from} missing (Debian packages ipxe, pxelinux, syslinux-common; tools/setup.sh): ${e.message}`,
        );
      });
    }
    await writeFile(
      join(tftp, 'pxelinux.cfg', 'default'),
      pxelinuxConfig({
        kernel: `vmlinuz-${marker}`,
        initrds: ['phase1.cpio.gz'],
        cmdline: 'console=ttyS0',
        serial: true,
      }),
    );
    await agent.call('httpServe', {
      name: 'h',
      address: '10.77.0.1',
      port: HTTP_PORT,
      files: { '/boot.ipxe': `#!ipxe\necho ${marker}\n` },
    });
    // iPXE waits ~16 s for an IPv6 RA without one (lab-facts §7.1); dnsmasq sends RAs and serves
    // TFTP (our TFTP package is another team's); its DHCPv4 stays off.
    ra = startDnsmasq(lab.server, [
      '--interface=br0',
      '--enable-ra',
      '--dhcp-range=fd77::,ra-only,64',
      '--enable-tftp',
      `--tftp-root=${tftp}`,
    ]);
  }, 60_000);
  afterAll(async () => {
    await ra?.stop();
    await agent?.dispose();
    await lab?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  const server = (name: string, extra: Record<string, unknown> = {}) =>
    agent.call('startServer', {
      name,
      opts: {
        interface: 'br0',
        serverAddress: '10.77.0.1',
        mode: 'server',
        range: { start: '10.77.0.100', end: '10.77.0.199' },
        plan: { static: { scriptUrl: SCRIPT_URL } },
        ...extra,
      },
    });

  it(
    'boots a BIOS VM (iPXE ROM) in server mode: iPXE gets the script URL',
    { timeout: 180_000 },
    async () => {
      await server('bios');
      await lab.server.addTap('tap0');
      const mac = randomMac();
      const vm = await vmOn(lab, 'tap0', mac);
      try {
        await vm.waitFor(new RegExp(marker), 150_000);
      } finally {
        await vm.stop();
        if (process.env.BTPXE_DEBUG) console.log(vm.output());
        await agent.call('stopServer', { name: 'bios' });
      }
      const boots = agent.serverEvents('bios', 'boot').filter((b) => b.mac === mac);
      expect(boots.length).toBeGreaterThan(0);
      expect(boots.every((b) => b.loader === SCRIPT_URL && b.isIpxe === true)).toBe(true);
      expect(agent.serverEvents('bios', 'lease')).toContainEqual(
        expect.objectContaining({ type: 'acked', mac }),
      );
      // 175.176 = 1 was in the answer, so iPXE did not sit 3 s waiting for a ProxyDHCP offer.
      expect(vm.output()).not.toMatch(/ProxyDHCP/i);
    },
  );

  it(
    'takes the legacy path: BIOS gets pxelinux.0 over TFTP, which reads our pxelinux.cfg',
    { timeout: 180_000 },
    async () => {
      await server('legacy', { plan: { static: { scriptUrl: SCRIPT_URL, legacyPxelinux: true } } });
      await lab.server.addTap('tap3');
      const mac = randomMac();
      const vm = await vmOn(lab, 'tap3', mac);
      try {
        // pxelinux prints the kernel it tries to load; the file does not exist, its name is the marker.
        await vm.waitFor(new RegExp(`vmlinuz-${marker}`), 150_000);
      } finally {
        await vm.stop();
        if (process.env.BTPXE_DEBUG) console.log(vm.output());
        await agent.call('stopServer', { name: 'legacy' });
      }
      expect(vm.output()).toMatch(/PXELINUX/);
      expect(
        agent
          .serverEvents('legacy', 'boot')
          .filter((b) => b.mac === mac)
          .map((b) => b.loader),
      ).toContain('pxelinux.0');
    },
  );

  it(
    "boots a UEFI VM with OVMF's own PXE: snponly.efi over TFTP, then the script",
    { timeout: 300_000 },
    async () => {
      await server('uefi');
      await lab.server.addTap('tap1');
      const mac = randomMac();
      // romfile= empties the NIC's iPXE ROM, so OVMF's own PXE client boots.
      const vm = await startVm({
        netns: lab.server,
        nic: { tap: 'tap1', mac, romfile: '' },
        firmware: 'uefi',
        memoryMb: 256,
        workDir: dir,
      });
      try {
        await vm.waitFor(new RegExp(marker), 280_000);
      } finally {
        await vm.stop();
        if (process.env.BTPXE_DEBUG) console.log(vm.output());
        await agent.call('stopServer', { name: 'uefi' });
      }
      const loaders = agent
        .serverEvents('uefi', 'boot')
        .filter((b) => b.mac === mac)
        .map((b) => `${b.arch}:${b.loader}`);
      expect(loaders).toContain('7:snponly.efi');
      expect(loaders).toContain(`7:${SCRIPT_URL}`);
    },
  );

  it(
    'boots a BIOS VM in proxy mode while dnsmasq on another host gives the addresses',
    { timeout: 180_000 },
    async () => {
      // The site's DHCP server lives in its own namespace (another host) on the same bridge.
      const site = await lab.server.addHost({
        suffix: 'd',
        iface: 'site0',
        port: 'siteport',
        addresses: ['10.77.0.2/24'],
      });
      const dhcp = { stop: async () => undefined } as { stop(): Promise<void>; output?(): string };
      try {
        Object.assign(
          dhcp,
          startDnsmasq(site, [
            '--interface=site0',
            '--dhcp-range=10.77.0.150,10.77.0.159,255.255.255.0,1h',
            '--no-ping',
            `--dhcp-leasefile=${join(dir, 'site.leases')}`,
            '--log-dhcp',
          ]),
        );
        await agent.call('startServer', {
          name: 'proxy',
          opts: {
            interface: 'br0',
            serverAddress: '10.77.0.1',
            mode: 'proxy',
            plan: { static: { scriptUrl: SCRIPT_URL } },
          },
        });
        await lab.server.addTap('tap2');
        const mac = randomMac();
        const vm = await vmOn(lab, 'tap2', mac);
        try {
          await vm.waitFor(new RegExp(marker), 150_000);
        } finally {
          await vm.stop();
          if (process.env.BTPXE_DEBUG) console.log(vm.output(), dhcp.output?.());
          await agent.call('stopServer', { name: 'proxy' });
        }
        const boots = agent.serverEvents('proxy', 'boot').filter((b) => b.mac === mac);
        // iPXE takes the file from our port-67 offer (it sends a 4011 REQUEST only for PXE menus);
        // the 4011 path is driven by the crafted-packet test.
        expect(boots).toContainEqual(
          expect.objectContaining({ message: 'offer', loader: SCRIPT_URL, isIpxe: true }),
        );
        expect(agent.serverEvents('proxy', 'lease')).toEqual([]);
        expect(dhcp.output?.()).toMatch(new RegExp(`DHCPACK\\(site0\\) 10\\.77\\.0\\.15\\d ${mac}`));
      } finally {
        await dhcp.stop();
        await site.close();
      }
    },
  );
});
