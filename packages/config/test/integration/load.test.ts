import { describe, expect, it } from 'vitest';
import { formatProblem, loadProject } from '../../src/index.js';
import { GOOD_CONFIG, project, TINY_OS } from '../_project.js';

const lines = async (files: Record<string, string>) => {
  const r = await loadProject(await project(files));
  return r.errors.map(formatProblem);
};

describe('loadProject', () => {
  it('loads a valid project with defaults filled in', async () => {
    const r = await loadProject(await project({ 'config.yaml': GOOD_CONFIG, ...TINY_OS }));
    expect(r.errors).toEqual([]);
    expect(r.project?.config.tftp).toEqual({ enable: true, port: 69 });
    expect(r.project?.config.torrent.piece_length).toBe('auto');
    expect(r.project?.oss).toMatchObject([
      { name: 'tiny', method: 'kexec', kernel: 'vmlinuz', initrds: ['initrd.img'], cmdline: 'console=ttyS0' },
    ]);
  });

  it('reports a wrong type with its line and column', async () => {
    const cfg = GOOD_CONFIG.replace('timeout: 5', 'timeout: ten');
    expect(await lines({ 'config.yaml': cfg, ...TINY_OS })).toEqual([
      'config.yaml:2:12 general.timeout: expected number, got string "ten" — write a number (Menu countdown on the clients, in seconds. 0 boots the default OS at once; a negative value waits for a choice.)',
    ]);
  });

  it('suggests the nearest key for an unknown one', async () => {
    const cfg = GOOD_CONFIG + 'tracker:\n  intervall: 3\n';
    expect(await lines({ 'config.yaml': cfg, ...TINY_OS })).toEqual([
      'config.yaml:12:3 tracker.intervall: unknown key — did you mean "interval"?',
    ]);
  });

  it('names the allowed values of an enum', async () => {
    const cfg = GOOD_CONFIG.replace('interface: br0', 'interface: br0\n  mode: relay');
    expect(await lines({ 'config.yaml': cfg, ...TINY_OS })).toEqual([
      'config.yaml:8:9 dhcp.mode: "relay" is not allowed — use one of: "server", "proxy"',
    ]);
  });

  it('reports a negative seed_time', async () => {
    const cfg = GOOD_CONFIG.replace('seed_time: 10', 'seed_time: -1');
    expect(await lines({ 'config.yaml': cfg, ...TINY_OS })).toEqual([
      'config.yaml:4:14 general.seed_time: -1 is too small — use at least 0',
    ]);
  });

  it('reports a seed_time_max that is not a whole number of seconds >= 0', async () => {
    for (const [v, msg] of [
      ['-5', '-5 is too small — use at least 0'],
      ['1.5', 'expected int, got number 1.5'],
    ]) {
      const cfg = GOOD_CONFIG.replace('seed_time: 10', `seed_time: 10\n  seed_time_max: ${v}`);
      const out = await lines({ 'config.yaml': cfg, ...TINY_OS });
      expect(out).toHaveLength(1);
      expect(out[0]).toMatch(/^config\.yaml:5:\d+ general\.seed_time_max: /);
      expect(out[0]).toContain(msg);
    }
  });

  it('reports a missing required key at its section', async () => {
    const cfg = GOOD_CONFIG.replace('  host_ip: 10.77.0.1\n', '');
    const out = await lines({ 'config.yaml': cfg, ...TINY_OS });
    expect(out[0]).toMatch(/^config\.yaml:2:3 general\.host_ip: is required — add it/);
  });

  it('reports YAML syntax errors with their position', async () => {
    const out = await lines({ 'config.yaml': 'general:\n  timeout: [1, 2\n', ...TINY_OS });
    expect(out[0]).toMatch(/^config\.yaml:\d+:\d+ YAML syntax: /);
  });

  it('checks default_os against the oss/ folders', async () => {
    const cfg = GOOD_CONFIG.replace('default_os: tiny', 'default_os: tinny');
    expect(await lines({ 'config.yaml': cfg, ...TINY_OS })).toEqual([
      'config.yaml:3:15 general.default_os: "tinny" is not a folder in oss/ — use one of: tiny',
    ]);
  });

  it('requires host_ip inside the range subnet and outside the pool, and start <= end', async () => {
    const inPool = GOOD_CONFIG.replace('host_ip: 10.77.0.1', 'host_ip: 10.77.0.150');
    expect(await lines({ 'config.yaml': inPool, ...TINY_OS })).toEqual([
      'config.yaml:5:12 general.host_ip: 10.77.0.150 is inside the DHCP pool 10.77.0.100–10.77.0.199 — move host_ip or the range so the pool excludes it',
    ]);
    const outside = GOOD_CONFIG.replace('end: 10.77.0.199', 'end: 10.78.0.5');
    expect(await lines({ 'config.yaml': outside, ...TINY_OS })).toEqual([
      "config.yaml:10:10 dhcp.range.end: 10.78.0.5 is outside 10.77.0.0/24 (host_ip's subnet) — pick an address in 10.77.0.0/24",
    ]);
    const reversed = GOOD_CONFIG.replace('start: 10.77.0.100', 'start: 10.77.0.250');
    expect(await lines({ 'config.yaml': reversed, ...TINY_OS })).toEqual([
      'config.yaml:9:5 dhcp.range: start 10.77.0.250 is after end 10.77.0.199 — swap them',
    ]);
  });

  it('rejects an invalid IPv4 address', async () => {
    const cfg = GOOD_CONFIG.replace('host_ip: 10.77.0.1', 'host_ip: 10.77.0.300');
    expect(await lines({ 'config.yaml': cfg, ...TINY_OS })).toEqual([
      'config.yaml:5:12 general.host_ip: "10.77.0.300": not an IPv4 address (use a.b.c.d) — IPv4 address of this server as the clients see it, on the boot network.',
    ]);
  });

  it('defaults phase-1 to xz and checks the level against the compressor', async () => {
    const r = await loadProject(await project({ 'config.yaml': GOOD_CONFIG, ...TINY_OS }));
    expect(r.project?.config.phase1).toMatchObject({ compression: 'xz', level: null });
    const cfg = GOOD_CONFIG + 'phase1:\n  compression: gzip\n  level: 19\n';
    expect(await lines({ 'config.yaml': cfg, ...TINY_OS })).toEqual([
      'config.yaml:13:10 phase1.level: 19 is not a gzip level — use 1 to 9, or null for the default',
    ]);
  });

  it('requires distinct ports and valid port numbers', async () => {
    const cfg = GOOD_CONFIG + 'http:\n  port: 6969\ntorrent:\n  port: 70000\n';
    expect(await lines({ 'config.yaml': cfg, ...TINY_OS })).toEqual([
      'config.yaml:14:9 torrent.port: 70000 is too big — use at most 65535',
      'config.yaml:12:9 http.port: TCP port 6969 is also used by tracker.port — give each service its own port',
    ]);
  });

  it('requires a range in server mode but not in proxy mode', async () => {
    const noRange = GOOD_CONFIG.replace(/ {2}range:\n.*\n.*\n/, '');
    expect(await lines({ 'config.yaml': noRange, ...TINY_OS })).toEqual([
      'config.yaml:7:3 dhcp.range: is required in server mode — add range: { start: a.b.c.d, end: a.b.c.e }, or set mode: proxy',
    ]);
    expect(
      await lines({
        'config.yaml': noRange.replace('interface: br0', 'interface: br0\n  mode: proxy'),
        ...TINY_OS,
      }),
    ).toEqual([]);
  });

  it('lists every problem at once, config and OS folders together', async () => {
    const cfg = GOOD_CONFIG.replace('timeout: 5', 'timeout: x').replace(
      'default_os: tiny',
      'default_os: none',
    );
    const out = await lines({
      'config.yaml': cfg,
      ...TINY_OS,
      'oss/empty/readme.txt': 'no config here',
      'oss/twin/config.yaml': 'dispname: Tiny Linux\nmethod: bin\nbin: run.sh\n',
      'oss/twin/run.sh': '#!/bin/sh\n',
    });
    expect(out).toEqual([
      expect.stringMatching(/^config\.yaml:2:12 general\.timeout: expected number/),
      'oss/empty OS folder has no config.yaml — add oss/empty/config.yaml with dispname and method (see oss/README.md), or remove the folder',
      'oss/twin/config.yaml:1:11 dispname: "Tiny Linux" is also the dispname of oss/tiny — give each OS a different dispname so the menu can tell them apart',
      'config.yaml:3:15 general.default_os: "none" is not a folder in oss/ — use one of: empty, tiny, twin',
    ]);
  });
});

describe('OS folders', () => {
  const base = { 'config.yaml': GOOD_CONFIG.replace('default_os: tiny', 'default_os: null') };

  it('refuses paths that leave the OS folder: .., absolute, symlink out', async () => {
    const out = await lines({
      ...base,
      'secret.txt': 'x',
      'oss/a/config.yaml': 'dispname: A\nmethod: kexec\nkernel: ../../secret.txt\n',
      'oss/b/config.yaml': 'dispname: B\nmethod: kexec\nkernel: /etc/passwd\n',
      'oss/c/config.yaml': 'dispname: C\nmethod: kexec\nkernel: vmlinuz\n',
      'oss/c/vmlinuz': '->../../secret.txt',
    });
    expect(out).toEqual([
      'oss/a/config.yaml:3:9 kernel: "../../secret.txt" points outside the OS folder — give a path relative to the OS folder, without ".." or a leading "/"',
      'oss/b/config.yaml:3:9 kernel: "/etc/passwd" points outside the OS folder — give a path relative to the OS folder, without ".." or a leading "/"',
      'oss/c/config.yaml:3:9 kernel: "vmlinuz" is a symlink that leaves the OS folder — copy the file into the OS folder instead of linking to it',
    ]);
  });

  it('accepts a symlink that stays inside the folder', async () => {
    const out = await lines({
      ...base,
      'oss/a/config.yaml': 'dispname: A\nmethod: kexec\nkernel: vmlinuz\n',
      'oss/a/boot/vmlinuz-6.1': 'k',
      'oss/a/vmlinuz': '->boot/vmlinuz-6.1',
    });
    expect(out).toEqual([]);
  });

  it('reports missing files and missing method fields', async () => {
    const out = await lines({
      ...base,
      'oss/a/config.yaml': 'dispname: A\nmethod: kexec\ninitrd: [one.img, two.img]\n',
      'oss/a/one.img': '1',
      'oss/b/config.yaml': 'dispname: B\nmethod: bin\n',
      'oss/c/config.yaml': 'dispname: C\nmethod: qemu\n',
      'oss/d/config.yaml': 'dispname: D\nmethod: floppy\n',
    });
    expect(out).toEqual([
      'oss/a/config.yaml:1:1 kernel: is required for method kexec — name the kernel file in this folder, e.g. kernel: vmlinuz',
      'oss/a/config.yaml:3:19 initrd.1: "two.img" does not exist in the OS folder — put the file in oss/a/ or fix the name',
      'oss/b/config.yaml:1:1 bin: is required for method bin — name the program in this folder, e.g. bin: hello',
      'oss/c/config.yaml:1:1 args: is required for method qemu — give the qemu-system-x86_64 arguments, e.g. args: "-m 512 -hda disk.img"',
      'oss/d/config.yaml:2:9 method: "floppy" is not allowed — use one of: "kexec", "bin", "qemu", "bin-qemu-x86_64", "qemu-iso"',
    ]);
  });

  it('maps the original method names and splits argument strings like a shell', async () => {
    const r = await loadProject(
      await project({
        ...base,
        'oss/q/config.yaml':
          'dispname: Q\nmethod: bin-qemu-x86_64\nargs: -m 512 -append "console=ttyS0 quiet"\n',
        'oss/iso/config.yaml': 'dispname: ISO\nmethod: qemu-iso\nisofile: disc.iso\n',
        'oss/iso/disc.iso': 'iso',
      }),
    );
    expect(r.errors).toEqual([]);
    expect(r.project?.oss.map((o) => [o.name, o.method, o.qemuArgs])).toEqual([
      ['iso', 'qemu', ['-cdrom', 'disc.iso']],
      ['q', 'qemu', ['-m', '512', '-append', 'console=ttyS0 quiet']],
    ]);
  });

  it('reports an empty oss/ folder', async () => {
    const out = await lines({ ...base, 'oss/README.md': '# none' });
    expect(out).toEqual([
      'oss no OS folder in oss/ — add a folder with the OS files and a config.yaml (see oss/README.md)',
    ]);
  });
});
