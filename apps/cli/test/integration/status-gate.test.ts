import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNetns, type Netns, type NetnsHost } from '@boottorrent/testing/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, run } from './_run.js';

/**
 * The gate on the agents' open POSTs with a real lease table: `boottorrent start` in DHCP server
 * mode inside a namespace the test creates (bridge br0, 10.77.93.1/24), a client namespace on the
 * bridge that takes a lease with busybox udhcpc (as a BIOS PXE ROM would ask), and curl from there.
 * A report counts only for the MAC whose lease holds its source address.
 */
const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
const PHASE1 = join(REPO, '.cache/e2e/boottorrent/phase1');
const MAC = '52:54:00:93:00:01';
const OTHER = '52:54:00:93:00:99';
let tmp: string;
let room: Netns;
let client: NetnsHost;
let server: ChildProcess | undefined;
let leased = '';
const base = 'http://10.77.93.1:8080';

/** curl inside the client namespace: status code and body. */
async function curl(args: string[]): Promise<{ status: number; body: string }> {
  const out = await client.run('curl', ['-sS', '--max-time', '10', '-w', '\n%{http_code}', ...args]);
  const at = out.lastIndexOf('\n');
  return { status: Number(out.slice(at + 1)), body: out.slice(0, at) };
}
const report = (mac: string, from?: string) =>
  curl([
    ...(from ? ['--interface', from] : []),
    '-X',
    'POST',
    '-d',
    '{"phase":"menu","ip":"10.77.93.250"}',
    `${base}/api/v1/clients/${mac}/status`,
  ]);

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'bt-gate-'));
  room = await createNetns({ prefix: 'btgate', bridge: { addresses: ['10.77.93.1/24'], carrier: true } });
  client = await room.addHost({ suffix: 'c0', iface: 'cli0', mac: MAC });
  const p = join(tmp, 'p');
  const init = run(['init', p, '--host-ip', '10.77.93.1', '--interface', 'br0']);
  expect(init.code, init.stderr).toBe(0);
  await writeFile(
    join(p, 'config.yaml'),
    [
      'general: { host_ip: 10.77.93.1, timeout: 0, seed_time: 0 }',
      'dhcp: { enable: true, mode: server, interface: br0, range: { start: 10.77.93.100, end: 10.77.93.120 }, lease_time: 600 }',
      'phase1: { compression: zstd, level: 1 }',
    ].join('\n') + '\n',
  );
  server = room.spawn(process.execPath, [CLI, 'start', p, '--json', '--phase1-dir', PHASE1], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  server.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    server!.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('"type":"ready"')) resolve();
    });
    server!.once('exit', (code) => reject(new Error(`start exited with ${code}: ${stderr}`)));
  });

  // A lease, as a BIOS PXE ROM asks for it (its vendor class makes it a boot client).
  const hook = join(tmp, 'udhcpc.sh');
  await writeFile(
    hook,
    '#!/bin/sh\ncase "$1" in bound|renew) ip addr flush dev $interface; ip addr add $ip/$subnet dev $interface ;; esac\nexit 0\n',
  );
  await chmod(hook, 0o755);
  await client.run(
    'busybox',
    [
      'udhcpc',
      '-q',
      '-n',
      '-i',
      'cli0',
      '-s',
      hook,
      '-t',
      '10',
      '-T',
      '1',
      '-V',
      'PXEClient:Arch:00000:UNDI:002001',
    ],
    { timeoutMs: 60_000 },
  );
  leased = /inet (\S+)\//.exec(await client.ip('-4', '-o', 'addr', 'show', 'cli0'))![1]!;
}, 600_000);

afterAll(async () => {
  if (server && server.exitCode === null) {
    const gone = new Promise((r) => server!.once('exit', r));
    server.kill('SIGTERM');
    await gone;
  }
  await room?.close();
  await rm(tmp, { recursive: true, force: true });
});

describe('status reports with a DHCP lease table', () => {
  it('accept the MAC whose lease holds the source address, and record that address', async () => {
    expect(leased).toMatch(/^10\.77\.93\.1(\d\d)$/);
    expect(await report(MAC)).toEqual({ status: 204, body: '' });
    const row = await curl([`${base}/api/v1/clients/${MAC}`]);
    expect(JSON.parse(row.body)).toMatchObject({ mac: MAC, phase: 'menu', ip: leased });
  });

  it('refuse another MAC from that address, in one line', async () => {
    expect(await report(OTHER)).toEqual({
      status: 403,
      body: `${leased} is leased to ${MAC}, not to ${OTHER}\n`,
    });
    const log = await curl(['-X', 'POST', '-d', '{"lines":["x"]}', `${base}/api/v1/clients/${OTHER}/log`]);
    expect(log.status).toBe(403);
  });

  it('refuse an address no lease holds', async () => {
    await client.ip('addr', 'add', '10.77.93.200/24', 'dev', 'cli0');
    expect(await report(MAC, '10.77.93.200')).toEqual({
      status: 403,
      body: 'no DHCP lease holds 10.77.93.200: reports only from leased addresses\n',
    });
  });

  it('count it all in /metrics: the DHCP exchange and the refused reports', async () => {
    const text = (await curl([`${base}/metrics`])).body;
    const value = (k: string) =>
      Number(new RegExp(`^${k.replace(/[{}"=]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(value('boottorrent_dhcp_leases_total{kind="acked"}')).toBeGreaterThanOrEqual(1);
    expect(value('boottorrent_dhcp_replied_packets_total')).toBeGreaterThanOrEqual(2);
    expect(value('boottorrent_reports_refused_total{reason="lease"}')).toBe(3);
  });
});
