import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatProblem, loadProject } from '../../src/index.js';
import { GOOD_CONFIG, project, TINY_OS } from '../_project.js';

const FIXTURE = new URL('../fixtures/original/', import.meta.url).pathname;

describe("the original project's Boottorrent.yaml", () => {
  it('loads unchanged and maps every section onto the new model', async () => {
    const r = await loadProject(FIXTURE);
    expect(r.errors).toEqual([]);
    const c = r.project!.config;
    expect(r.project!.legacy).toBe(true);
    expect(r.project!.configFile).toBe('Boottorrent.yaml');
    expect(c.general).toEqual({
      version: 1,
      timeout: 30,
      default_os: 'slitaz',
      seed_time: 60,
      seed_while_needed: true,
      seed_time_max: 120,
      host_ip: '192.168.1.1',
    });
    expect(c.dhcp).toMatchObject({
      enable: true,
      mode: 'server',
      interface: 'eth1',
      range: { start: '192.168.1.50', end: '192.168.1.150' },
      lease_time: 12 * 3600,
    });
    expect(c.tftp.enable).toBe(true);
    expect(c.tracker).toMatchObject({ enable: true, port: 10001 });
    expect(c.torrent).toMatchObject({ lsd: true, pex: true });
    expect(r.project!.oss).toMatchObject([
      {
        name: 'slitaz',
        dispname: 'SliTaz',
        kernel: 'bzImage',
        initrds: ['rootfs.gz'],
        cmdline: 'rw root=/dev/null vga=normal autologin',
      },
    ]);
  });

  it('prints one notice naming the new keys', async () => {
    const r = await loadProject(FIXTURE);
    expect(r.warnings).toHaveLength(1);
    expect(formatProblem(r.warnings[0]!)).toMatch(
      /^Boottorrent\.yaml read the original project format; in config\.yaml these are general\.\{timeout,default_os,seed_time,host_ip\}/,
    );
  });

  it('points errors at the original keys and lines', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bt-legacy-'));
    try {
      await cp(FIXTURE, dir, { recursive: true });
      const yaml = (await import('node:fs')).readFileSync(join(FIXTURE, 'Boottorrent.yaml'), 'utf8');
      await writeFile(
        join(dir, 'Boottorrent.yaml'),
        yaml
          .replace('"192.168.1.50,192.168.1.150,12h"', '"192.168.1.50,10.0.0.9,forever"')
          .replace('seed_tim', 'seed_tiem'),
      );
      const r = await loadProject(dir);
      expect(r.errors.map(formatProblem)).toEqual([
        'Boottorrent.yaml:8:5 boottorrent.seed_tieme: unknown key — did you mean "seed_time"?',
      ]);
      await writeFile(
        join(dir, 'Boottorrent.yaml'),
        yaml.replace('"192.168.1.50,192.168.1.150,12h"', '"192.168.1.50,10.0.0.9,forever"'),
      );
      const r2 = await loadProject(dir);
      expect(r2.errors.map(formatProblem)).toEqual([
        'Boottorrent.yaml:16:17 dnsmasq.dhcp_range: lease time "forever" is not a duration — write "start,end[,netmask],leasetime", e.g. "192.168.1.50,192.168.1.150,12h"',
        "Boottorrent.yaml:16:17 dnsmasq.dhcp_range (dhcp.range.end): 10.0.0.9 is outside 192.168.1.0/24 (host_ip's subnet) — pick an address in 192.168.1.0/24",
        'Boottorrent.yaml:16:17 dnsmasq.dhcp_range (dhcp.range): start 192.168.1.50 is after end 10.0.0.9 — swap them',
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('prefers config.yaml when both files exist, with a warning', async () => {
    const dir = await project({
      'config.yaml': GOOD_CONFIG,
      'Boottorrent.yaml': 'boottorrent: {}\n',
      ...TINY_OS,
    });
    const r = await loadProject(dir);
    expect(r.errors).toEqual([]);
    expect(r.project!.legacy).toBe(false);
    expect(r.warnings.map(formatProblem)).toEqual([
      'Boottorrent.yaml ignored because config.yaml exists — delete it once config.yaml has your settings',
    ]);
  });
});
