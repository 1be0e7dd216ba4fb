import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDemoProject } from '@boottorrent/server';
import { CLI, E2E_CACHE, runLab } from './_run.js';

/**
 * End to end: `boottorrent lab` boots real QEMU VMs (TCG) with their own firmware in a network
 * namespace it creates; each must reach the demo OS's marker after a BitTorrent download.
 * Phase-1 is built once into a cache shared by these tests.
 */
let work: string;

interface Result {
  ok: boolean;
  serverShare: number;
  fromServer: number;
  fromPeers: number;
  fromWebSeed: number;
  vms: {
    index: number;
    ok: boolean;
    killed: boolean;
    error?: string;
    marks: Record<string, number>;
    bytesFromPeers: number;
    runtimeFrom?: string;
  }[];
  runtime: { fromServer: number; fromPeers: number };
}

async function lab(
  name: string,
  args: string[],
): Promise<{ code: number | null; result: Result; stderr: string }> {
  const dir = join(work, name);
  const { code, stdout, stderr } = await runLab(dir, args);
  try {
    return { code, result: JSON.parse(stdout) as Result, stderr };
  } catch {
    const logs = await readFile(join(dir, 'lab-result.json'), 'utf8').catch(() => '');
    throw new Error(
      `lab ${name} exited ${code} without a result:\n${stderr.slice(-3000)}\n${logs.slice(-2000)}`,
    );
  }
}

const explain = (r: { stderr: string; result: Result }) =>
  `${r.stderr.slice(-2000)}\n${JSON.stringify(r.result.vms, null, 1)}`;

beforeAll(async () => {
  await mkdir(E2E_CACHE, { recursive: true });
  work = await mkdtemp(join(E2E_CACHE, 'run-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('boottorrent lab (QEMU VMs, TCG)', { timeout: 900_000 }, () => {
  it('boots three BIOS VMs in full DHCP mode over BitTorrent, the peers feeding each other', async () => {
    // Serial logs of an earlier run in the same work dir, marker included, must not count as this run.
    await mkdir(join(work, 'bios3'), { recursive: true });
    for (const i of [0, 1, 2])
      await writeFile(join(work, 'bios3', `vm${i}.serial.log`), 'BOOTTORRENT-TARGET-OK\n');
    const r = await lab('bios3', ['--vms', '3', '--timeout', '480']);
    expect(r.code, explain(r)).toBe(0);
    expect(r.result.vms.map((v) => v.ok)).toEqual([true, true, true]);
    for (const v of r.result.vms) {
      for (const m of ['dhcp', 'loader', 'menu', 'download', 'downloaded', 'booted'])
        expect(v.marks[m], `vm${v.index} ${m}`).toBeGreaterThan(0);
    }
    expect(r.result.fromPeers).toBeGreaterThan(0);
    expect(r.result.serverShare).toBeLessThan(1);
  });

  it('still boots the others when one VM is powered off mid-download', async () => {
    const r = await lab('kill', ['--vms', '3', '--kill-vm', '1', '--timeout', '480']);
    expect(r.code, explain(r)).toBe(0);
    expect(r.result.vms.map((v) => (v.killed ? 'killed' : v.ok))).toEqual([true, 'killed', true]);
  });

  it("gives later VMs phase-1's runtime from a VM that holds it (--stagger)", async () => {
    const r = await lab('stagger', ['--vms', '3', '--stagger', '30', '--timeout', '600']);
    expect(r.code, explain(r)).toBe(0);
    expect(r.result.vms.map((v) => v.ok)).toEqual([true, true, true]);
    // The server's own account (its runtime events): the first VM from the server, later ones from a peer.
    expect(r.result.vms[0]!.runtimeFrom).toBe('server');
    for (const v of r.result.vms) expect(v.runtimeFrom, `vm${v.index}`).toBeDefined();
    expect(r.result.runtime.fromPeers).toBeGreaterThanOrEqual(1);
    const peerMacs = r.result.vms.filter((v) => v.runtimeFrom !== 'server').map((v) => v.runtimeFrom);
    for (const m of peerMacs) expect(m).toMatch(/^10\.\d+\.\d+\.\d+ \(52:54:00:77:00:1[0-2]\)$/);
  });

  it('still boots the others when the VM serving the runtime is powered off mid-serve', async () => {
    const r = await lab('kill-holder', [
      '--vms',
      '3',
      '--stagger',
      '30',
      '--kill-runtime-holder',
      '--timeout',
      '600',
    ]);
    expect(r.code, explain(r)).toBe(0);
    const killed = r.result.vms.filter((v) => v.killed);
    expect(killed).toHaveLength(1);
    for (const v of r.result.vms.filter((x) => !x.killed)) expect(v.ok, `vm${v.index}`).toBe(true);
  });

  it('boots a UEFI VM (OVMF) in proxyDHCP mode beside a site DHCP server (dnsmasq)', async () => {
    const r = await lab('uefi-proxy', [
      '--vms',
      '1',
      '--uefi',
      '--mode',
      'proxy',
      '--site-dhcp',
      '--timeout',
      '480',
    ]);
    expect(r.code, explain(r)).toBe(0);
    expect(r.result.vms[0]!.ok).toBe(true);
  });

  it('finishes through the HTTP web seed with no tracker and no seeder', async () => {
    const r = await lab('webseed', ['--vms', '1', '--no-tracker', '--no-seeder', '--timeout', '480']);
    expect(r.code, explain(r)).toBe(0);
    expect(r.result.vms[0]!.ok).toBe(true);
    expect(r.result.fromWebSeed).toBeGreaterThan(0);
    expect(r.result.fromServer).toBe(0);
  });

  it("boots the original project's layout (Boottorrent.yaml)", async () => {
    const demoOs = join(work, 'bios3/project/oss/demo-linux');
    const dir = join(work, 'original');
    await mkdir(join(dir, 'oss'), { recursive: true });
    await cp(demoOs, join(dir, 'oss/demo-linux'), { recursive: true });
    await writeFile(
      join(dir, 'oss/demo-linux/config.yaml'),
      'dispname: Demo\nmethod: kexec\nkernel: vmlinuz\ninitrd: target.cpio.gz\ncmdline: console=ttyS0,115200n8 quiet\n',
    );
    await writeFile(
      join(dir, 'Boottorrent.yaml'),
      [
        'boottorrent:',
        '    version: 0',
        '    timeout: 0',
        '    default_os: demo-linux',
        '    seed_time: 0',
        '    host_ip: 10.77.0.1',
        'dnsmasq:',
        '    enable_dhcp: True',
        '    interface: br0',
        '    dhcp_range: "10.77.0.100,10.77.0.150,1h"',
        '    enable_tftp: True',
        'opentracker:',
        '    enable: True',
        '    port: 6969',
        'aria2:',
        '    bt_enable_lpd: False',
        '    enable_peer_exchange: True',
        '',
      ].join('\n'),
    );
    const r = await lab('original-run', ['--vms', '1', '--project', dir, '--timeout', '480']);
    expect(r.code, explain(r)).toBe(0);
    expect(r.result.vms[0]!.ok).toBe(true);
  });

  it('boots two VMs into two different OSes from machines: (an exact MAC and a prefix), without a menu', async () => {
    const dir = join(work, 'machines');
    // The menu would wait forever (timeout -1): only menu: false gets the VMs to their OS.
    await writeDemoProject({
      dir,
      address: '10.77.0.1',
      netmask: '255.255.255.0',
      timeout: -1,
      seedTime: 0,
      padding: 0,
    });
    await cp(join(dir, 'oss/demo-linux'), join(dir, 'oss/demo-b'), { recursive: true });
    const osYaml = await readFile(join(dir, 'oss/demo-linux/config.yaml'), 'utf8');
    await writeFile(
      join(dir, 'oss/demo-b/config.yaml'),
      osYaml.replace(/^dispname: .*$/m, 'dispname: Demo B'),
    );
    const config = await readFile(join(dir, 'config.yaml'), 'utf8');
    await writeFile(
      join(dir, 'config.yaml'),
      config +
        [
          'machines:',
          '  - mac: 52:54:00:77:00:10', // the lab's vm0
          '    os: demo-linux',
          '    menu: false',
          '    cmdline: loglevel=7 btlab=vm0',
          '  - mac: 52:54:00:77:*', // every other lab VM
          '    os: demo-b',
          '    menu: false',
          '',
        ].join('\n'),
    );
    const r = await lab('machines-run', ['--vms', '2', '--project', dir, '--timeout', '480']);
    expect(r.code, explain(r)).toBe(0);
    expect(r.result.vms.map((v) => v.ok)).toEqual([true, true]);
    const serial = (i: number) => readFile(join(work, 'machines-run', `vm${i}.serial.log`), 'utf8');
    const [vm0, vm1] = [await serial(0), await serial(1)];
    expect(vm0).toContain('Booting Demo Linux (kexec)');
    expect(vm1).toContain('Booting Demo B');
    expect(vm0).not.toContain('choose the system to boot');
    expect(vm1).not.toContain('choose the system to boot');
    // The extra words reach the kexec'd kernel, after the OS's own command line; vm1 has none.
    expect(vm0).toMatch(/Kernel command line: console=ttyS0,115200n8 quiet panic=5 loglevel=7 btlab=vm0/);
    expect(vm1).not.toContain('btlab=');
  });

  it('removes its namespace and ends every process it started when interrupted with Ctrl+C', async () => {
    const child = spawn(process.execPath, [CLI, 'lab', '--work-dir', join(work, 'interrupt'), '--vms', '1'], {
      env: { ...process.env, XDG_CACHE_HOME: E2E_CACHE },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    const powered = new Promise<void>((resolve) =>
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('powering on')) resolve();
      }),
    );
    await powered;
    const ns = /namespace (bt-lab-[0-9a-f]+)/.exec(stderr)![1]!;
    await new Promise((r) => setTimeout(r, 3000));
    const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' })
      .stdout.trim()
      .split('\n')
      .filter(Boolean);
    expect(pids.length).toBeGreaterThanOrEqual(3); // server, dnsmasq, qemu
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code).toBe(1);
    expect(spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout).not.toContain(ns);
    for (const pid of pids) expect(existsSync(`/proc/${pid}`), `pid ${pid} still running`).toBe(false);
  });
});
