import { describe, expect, it } from 'vitest';
import {
  parseCmdline,
  parseLease,
  pickServer,
  startPlan,
  withExtraCmdline,
  withManifestPlan,
} from './cmdline.js';
import { initialMenu } from './menu.js';
import { formatBytes, memAvailable, progressLine } from './format.js';
import { StatusReporter } from './status.js';

describe('boot facts', () => {
  it('reads bt.os, bt.server and bt.stall from the kernel command line and ignores the rest', () => {
    expect(
      parseCmdline('console=ttyS0 quiet bt.os=debian bt.server=10.0.0.1 bt.stall=7 bt.os.x=1\n'),
    ).toEqual({
      os: 'debian',
      server: '10.0.0.1',
      stallSeconds: 7,
    });
    expect(parseCmdline('bt.os= bt.stall=-3')).toEqual({});
  });

  it('reads the lease file written by /init, dropping empty values', () => {
    expect(parseLease('ip=10.0.2.15\nboot_file=\nserver=10.0.2.2\nmac=52:54:00:12:34:56\n')).toEqual({
      ip: '10.0.2.15',
      server: '10.0.2.2',
      mac: '52:54:00:12:34:56',
    });
  });

  it('prefers bt.server=, then the manifest, then the lease for the server address', () => {
    const lease = { server: '10.0.0.9', siaddr: '10.0.0.8', serverid: '10.0.0.7' };
    expect(pickServer({ server: '10.0.0.1' }, '10.0.0.2', lease)).toBe('10.0.0.1');
    expect(pickServer({}, '10.0.0.2', lease)).toBe('10.0.0.2');
    expect(pickServer({}, '0.0.0.0', lease)).toBe('10.0.0.9');
    expect(pickServer({}, undefined, { siaddr: '0.0.0.0', serverid: '10.0.0.7' })).toBe('10.0.0.7');
  });

  it('builds the status URL with the MAC lowercased and IPv6 hosts bracketed, or none without a MAC', () => {
    expect(StatusReporter.url('10.0.0.1', 8080, 'AA:BB:CC:DD:EE:FF')).toBe(
      'http://10.0.0.1:8080/api/v1/clients/aa%3Abb%3Acc%3Add%3Aee%3Aff/status',
    );
    expect(StatusReporter.url('fd77::1', 80, 'aa')).toBe('http://[fd77::1]:80/api/v1/clients/aa/status');
    expect(StatusReporter.url('10.0.0.1', 80, undefined)).toBeUndefined();
  });
});

describe('formatting and the RAM check', () => {
  it('formats bytes and the progress line with the byte split', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(
      progressLine({
        downloaded: 50 * 2 ** 20,
        total: 200 * 2 ** 20,
        rate: 10 * 2 ** 20,
        peers: 1,
        fromServer: 2 ** 20,
        fromPeers: 49 * 2 ** 20,
        fromWebSeed: 0,
      }),
    ).toBe('25% of 200.0 MiB at 10.0 MiB/s, 1 peer (server 1.0 MiB, peers 49.0 MiB)');
  });

  it('reads MemAvailable (else MemFree)', () => {
    expect(memAvailable('MemTotal: 100 kB\nMemFree: 20 kB\nMemAvailable: 50 kB\n')).toBe(51200);
    expect(memAvailable('MemFree: 20 kB\n')).toBe(20480);
    expect(memAvailable('')).toBeUndefined();
  });
});

describe("the server's plan for this machine", () => {
  const manifest = { defaultOs: 'deb', timeout: 10 };

  it('reads bt.menu=0|1 and takes every word after bt.extra as extra command line', () => {
    expect(parseCmdline('quiet bt.os=win bt.menu=0 bt.extra nomodeset hostname=pc1 bt.os=x')).toEqual({
      os: 'win',
      menu: false,
      extra: 'nomodeset hostname=pc1 bt.os=x',
    });
    expect(parseCmdline('bt.menu=1 bt.menu=yes')).toEqual({ menu: true });
    expect(parseCmdline('bt.extra')).toEqual({});
  });

  it('menu: false boots the OS at once, with no countdown to wait for', () => {
    expect(startPlan(parseCmdline('bt.os=win bt.menu=0'), manifest)).toMatchObject({ boot: 'win' });
    // Without an OS of its own, the machine boots the default at once: the menu with a 0 s countdown.
    expect(startPlan(parseCmdline('bt.menu=0'), manifest)).toEqual({ preselect: 'deb', timeout: 0 });
    const state = initialMenu(3, 1, startPlan(parseCmdline('bt.menu=0'), manifest).timeout);
    expect(state.remaining).toBe(0);
  });

  it('menu: true shows the menu with the OS preselected and the usual countdown', () => {
    expect(startPlan(parseCmdline('bt.os=win bt.menu=1'), manifest)).toEqual({
      preselect: 'win',
      timeout: 10,
    });
    expect(startPlan(parseCmdline(''), manifest)).toEqual({ preselect: 'deb', timeout: 10 });
  });

  it('keeps bt.os= alone booting at once, as the lab and automation use it', () => {
    expect(startPlan(parseCmdline('bt.os=win'), manifest).boot).toBe('win');
  });

  it("appends the extra words to a kexec OS's command line only", () => {
    const os = { name: 'deb', kexec: { kernel: 'k', initrds: [], cmdline: 'root=/dev/ram0' } };
    expect(withExtraCmdline(os, 'nomodeset').kexec.cmdline).toBe('root=/dev/ram0 nomodeset');
    expect(withExtraCmdline(os, undefined)).toBe(os);
    const bin: { name: string; kexec?: { cmdline: string } } = { name: 'b' };
    expect(withExtraCmdline(bin, 'nomodeset')).toBe(bin);
  });
});

describe("the manifest's machines: (a machine booted without the per-client script)", () => {
  const manifest = {
    machines: [
      { mac: '52:54:00:*', os: 'deb', menu: true, cmdline: '' },
      { mac: ['52:54:00:00:00:01'], os: 'win', menu: false, cmdline: 'nomodeset' },
    ],
  };

  it('takes the entry for its MAC, the exact one before a prefix', () => {
    expect(withManifestPlan({}, manifest, '52:54:00:00:00:01')).toEqual({
      os: 'win',
      menu: false,
      extra: 'nomodeset',
    });
    expect(withManifestPlan({ server: '10.0.0.1' }, manifest, '52:54:00:00:00:02')).toEqual({
      server: '10.0.0.1',
      os: 'deb',
      menu: true,
    });
    expect(withManifestPlan({}, manifest, '52:55:00:00:00:01')).toEqual({});
  });

  it("leaves the per-client script's words alone", () => {
    const args = parseCmdline('bt.os=x bt.menu=1');
    expect(withManifestPlan(args, manifest, '52:54:00:00:00:01')).toBe(args);
    const extra = parseCmdline('bt.extra quiet');
    expect(withManifestPlan(extra, manifest, '52:54:00:00:00:01')).toBe(extra);
    expect(withManifestPlan({}, {}, '52:54:00:00:00:01')).toEqual({});
  });
});
