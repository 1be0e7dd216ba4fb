import { describe, expect, it } from 'vitest';
import { sysusersConfig, systemdUnit, unitName } from './systemd.js';

const base = { projectDir: '/srv/lab1', node: '/usr/bin/node', cli: '/opt/bt/dist/cli.js' };
const lines = (text: string) => text.split('\n');
const value = (text: string, key: string) =>
  lines(text)
    .filter((l) => l.startsWith(`${key}=`))
    .map((l) => l.slice(key.length + 1));

describe('systemdUnit', () => {
  it('runs start on the project as the dedicated user, never root', () => {
    const u = systemdUnit({ ...base, dhcp: true });
    expect(value(u, 'ExecStart')).toEqual(['/usr/bin/node /opt/bt/dist/cli.js start /srv/lab1']);
    expect(value(u, 'User')).toEqual(['boottorrent']);
    expect(value(systemdUnit({ ...base, dhcp: true, user: 'pxe' }), 'User')).toEqual(['pxe']);
    expect(u).not.toMatch(/^User=root$/m);
  });

  it('grants CAP_NET_RAW only with DHCP, and never CAP_NET_ADMIN', () => {
    const withDhcp = systemdUnit({ ...base, dhcp: true });
    const without = systemdUnit({ ...base, dhcp: false });
    for (const key of ['AmbientCapabilities', 'CapabilityBoundingSet']) {
      expect(value(withDhcp, key)).toEqual(['CAP_NET_BIND_SERVICE CAP_NET_RAW']);
      expect(value(without, key)).toEqual(['CAP_NET_BIND_SERVICE']);
    }
    expect(withDhcp).not.toContain('CAP_NET_ADMIN');
  });

  it('hardens: read-only system but the project, no new privileges, restart on failure, reload by SIGHUP', () => {
    const u = systemdUnit({ ...base, dhcp: true });
    expect(value(u, 'NoNewPrivileges')).toEqual(['yes']);
    expect(value(u, 'ProtectSystem')).toEqual(['strict']);
    expect(value(u, 'ReadWritePaths')).toEqual(['/srv/lab1']);
    expect(value(u, 'PrivateTmp')).toEqual(['yes']);
    expect(value(u, 'Restart')).toEqual(['on-failure']);
    expect(value(u, 'ExecReload')).toEqual(['/bin/kill -HUP $MAINPID']);
    expect(value(u, 'WantedBy')).toEqual(['multi-user.target']);
  });

  it('doubles % (a systemd specifier) and refuses paths a unit cannot carry', () => {
    expect(value(systemdUnit({ ...base, projectDir: '/srv/100%', dhcp: false }), 'ReadWritePaths')).toEqual([
      '/srv/100%%',
    ]);
    for (const bad of ['/srv/my lab', '/srv/$HOME', '/srv/a"b', '/srv/a\\b', '/srv/a\nb', 'relative/dir'])
      expect(() => systemdUnit({ ...base, projectDir: bad, dhcp: false })).toThrowError(
        expect.objectContaining({ code: 'SERVER_BAD_OPTION' }),
      );
  });
});

describe('unitName and sysusersConfig', () => {
  it('names the unit after the project folder', () => {
    expect(unitName('/srv/lab1')).toBe('boottorrent-lab1.service');
    expect(unitName('/srv/lab1/')).toBe('boottorrent-lab1.service');
    expect(unitName('/srv/my lab@2')).toBe('boottorrent-my_lab_2.service');
  });

  it('declares the system user for systemd-sysusers', () => {
    expect(sysusersConfig()).toMatch(/^u boottorrent - "BootTorrent boot server" \/var\/lib\/boottorrent$/m);
  });
});
