import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI } from './_run.js';

/**
 * `boottorrent wake` inside a network namespace the test creates: the server side (va,
 * 10.77.91.1/24) in one, a capture (tcpdump on vb) in another, joined by a veth pair, IPv6 off so
 * nothing else crosses the link. Every frame captured must be one of our magic packets.
 */
const SERVER_NS = `btwake-s-${process.pid}`;
const PEER_NS = `btwake-c-${process.pid}`;
let tmp: string;
let project: string;
let tcpdump: ChildProcess | undefined;
const pcap = () => join(tmp, 'wake.pcap');

function sh(cmd: string[]): void {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd.join(' ')}: ${r.stderr || r.error?.message}`);
}

function wake(args: string[]) {
  const r = spawnSync('ip', ['netns', 'exec', SERVER_NS, process.execPath, CLI, 'wake', project, ...args], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The magic packet as Wake-on-LAN defines it, built here, not by the code under test. */
function expectedPayload(mac: string): Buffer {
  const hw = mac.split(':').map((h) => parseInt(h, 16));
  return Buffer.from([...Array(6).fill(0xff), ...Array(16).fill(hw).flat()]);
}

/** Frames of a classic pcap file (LINKTYPE_ETHERNET). */
function frames(file: Buffer): Buffer[] {
  expect(file.readUInt32LE(0)).toBe(0xa1b2c3d4);
  expect(file.readUInt32LE(20)).toBe(1);
  const out: Buffer[] = [];
  for (let at = 24; at + 16 <= file.length;) {
    const len = file.readUInt32LE(at + 8);
    out.push(file.subarray(at + 16, at + 16 + len));
    at += 16 + len;
  }
  return out;
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'bt-wake-'));
  sh(['ip', 'netns', 'add', SERVER_NS]);
  sh(['ip', 'netns', 'add', PEER_NS]);
  for (const ns of [SERVER_NS, PEER_NS])
    sh([
      'ip',
      'netns',
      'exec',
      ns,
      'sysctl',
      '-qw',
      'net.ipv6.conf.all.disable_ipv6=1',
      'net.ipv6.conf.default.disable_ipv6=1',
    ]);
  sh(['ip', '-n', SERVER_NS, 'link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb', 'netns', PEER_NS]);
  sh(['ip', '-n', SERVER_NS, 'addr', 'add', '10.77.91.1/24', 'brd', '+', 'dev', 'va']);
  sh(['ip', '-n', PEER_NS, 'addr', 'add', '10.77.91.2/24', 'brd', '+', 'dev', 'vb']);
  sh(['ip', '-n', SERVER_NS, 'link', 'set', 'va', 'up']);
  sh(['ip', '-n', PEER_NS, 'link', 'set', 'vb', 'up']);

  project = join(tmp, 'p');
  sh([process.execPath, CLI, 'init', project, '--host-ip', '10.77.91.1', '--interface', 'va']);
  const cfg = await readFile(join(project, 'config.yaml'), 'utf8');
  await writeFile(
    join(project, 'config.yaml'),
    `${cfg}\nmachines:\n  - { mac: "52:54:00:00:00:0a", name: desk-a }\n  - { mac: "52:54:00:*", menu: false }\n`,
  );
  await mkdir(join(project, 'out'));
  await writeFile(
    join(project, 'out/leases.json'),
    JSON.stringify({
      version: 1,
      leases: [
        { mac: '52:54:00:00:00:0b', ip: '10.77.91.100', expiresAt: 0, state: 'free' },
        { mac: '52:54:00:00:00:0a', ip: '10.77.91.101', expiresAt: 0, state: 'bound' },
      ],
    }),
  );

  tcpdump = spawn('ip', ['netns', 'exec', PEER_NS, 'tcpdump', '-i', 'vb', '-n', '-U', '-w', pcap()], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    let err = '';
    tcpdump!.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('listening on')) resolve();
    });
    tcpdump!.on('exit', (c) => reject(new Error(`tcpdump exited ${c}: ${err}`)));
  });
}, 60_000);

afterAll(async () => {
  if (tcpdump && tcpdump.exitCode === null) tcpdump.kill('SIGKILL');
  spawnSync('ip', ['netns', 'del', SERVER_NS]);
  spawnSync('ip', ['netns', 'del', PEER_NS]);
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('boottorrent wake', () => {
  it('sends exactly one magic packet per machine to the broadcast address, port 9, and nothing else', async () => {
    const all = wake(['--all']);
    expect(all.stderr).toBe('');
    expect(all.code).toBe(0);
    // Leases and machines: together, each MAC once; the prefix entry names no machine.
    expect(all.stdout.trim().split('\n')).toEqual([
      '52:54:00:00:00:0a: magic packet sent to 10.77.91.255:9 on va',
      '52:54:00:00:00:0b: magic packet sent to 10.77.91.255:9 on va',
    ]);
    const one = wake(['--mac', '02-00-00-AA-BB-CC']);
    expect(one.code).toBe(0);
    expect(one.stdout).toBe('02:00:00:aa:bb:cc: magic packet sent to 10.77.91.255:9 on va\n');

    const bad = wake(['--mac', '02:00:00:aa:bb:cc', '--mac', '52:54:00:zz:00:01']);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe('');
    expect(bad.stderr.split('\n')[0]).toBe(
      'boottorrent: bad MAC "52:54:00:zz:00:01": expected six hex pairs, e.g. 52:54:00:12:34:56',
    );
    expect(bad.stderr).not.toMatch(/\n\s+at /); // no stack trace

    const none = wake([]);
    expect(none.code).toBe(1);
    expect(none.stderr.split('\n')[0]).toBe('boottorrent: no machine to wake');

    const exited = new Promise((r) => tcpdump!.once('exit', r));
    tcpdump!.kill('SIGINT');
    await exited;
    const got = frames(await readFile(pcap()));
    const macs = ['52:54:00:00:00:0a', '52:54:00:00:00:0b', '02:00:00:aa:bb:cc'];
    expect(got).toHaveLength(macs.length); // the bad command sent nothing, not even its good MAC
    got.forEach((f, i) => {
      expect(f.subarray(0, 6).toString('hex')).toBe('ffffffffffff'); // Ethernet broadcast
      expect(f.readUInt16BE(12)).toBe(0x0800); // IPv4
      const ip = f.subarray(14);
      const ihl = (ip[0]! & 0x0f) * 4;
      expect(ip[9]).toBe(17); // UDP
      expect([...ip.subarray(12, 16)].join('.')).toBe('10.77.91.1');
      expect([...ip.subarray(16, 20)].join('.')).toBe('10.77.91.255');
      const udp = ip.subarray(ihl);
      expect(udp.readUInt16BE(2)).toBe(9);
      expect(udp.readUInt16BE(4)).toBe(8 + 102);
      expect(udp.subarray(8)).toEqual(expectedPayload(macs[i]!));
    });
  });
});
