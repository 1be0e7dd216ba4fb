import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, run } from './_run.js';

/**
 * `boottorrent service install|remove` (into a temporary root, checked by systemd-analyze verify),
 * and `start` as the unit runs it: not root, holding only CAP_NET_BIND_SERVICE and CAP_NET_RAW
 * (setpriv), with DHCP on a veth, TFTP on 69 and HTTP on 80 inside a network namespace
 * this test creates, so nothing meets the host's ports or network.
 */
const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
const PHASE1 = join(REPO, '.cache/e2e/boottorrent/phase1');
const NS = `btsvc-${process.pid}`;
const ADDR = '10.77.92.1';
const NOBODY = 65534;
let tmp: string;
let project: string;
const children: ChildProcess[] = [];

function sh(cmd: string[]): string {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8', timeout: 900_000 });
  if (r.status !== 0) throw new Error(`${cmd.join(' ')}: ${r.stderr || r.error?.message}`);
  return r.stdout;
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'bt-service-'));
  project = join(tmp, 'lab1');
  sh([process.execPath, CLI, 'init', project, '--host-ip', ADDR, '--interface', 'd0']);
  await writeFile(
    join(project, 'config.yaml'),
    [
      `general: { host_ip: ${ADDR}, default_os: hello, timeout: 0, seed_time: 0 }`,
      'dhcp:',
      '  enable: true',
      '  mode: server',
      '  interface: d0',
      '  range: { start: 10.77.92.100, end: 10.77.92.150 }',
      '  netmask: 255.255.255.0',
      'tftp: { port: 69 }',
      'http: { port: 80 }',
      'tracker: { port: 6969 }',
      'torrent: { port: 6881 }',
      '',
    ].join('\n'),
  );
  // As root, the project's own phase-1 (the unit's <project>/out/phase1): a copy of the cache the
  // other CLI tests share, brought up to date by build, so start (as nobody) finds it current.
  sh(['mkdir', '-p', join(project, 'out/phase1')]);
  if (existsSync(PHASE1)) sh(['cp', '-a', `${PHASE1}/.`, join(project, 'out/phase1')]);
  sh([process.execPath, CLI, 'build', project]);
  sh(['chown', '-R', `${NOBODY}:${NOBODY}`, tmp]);
  sh(['ip', 'netns', 'add', NS]);
  sh(['ip', '-n', NS, 'link', 'set', 'lo', 'up']);
  // A veth pair with both ends inside: d0 has link, so the DHCP server binds to it.
  sh(['ip', '-n', NS, 'link', 'add', 'd0', 'type', 'veth', 'peer', 'name', 'd1']);
  sh(['ip', '-n', NS, 'addr', 'add', `${ADDR}/24`, 'dev', 'd0']);
  sh(['ip', '-n', NS, 'link', 'set', 'd0', 'up']);
  sh(['ip', '-n', NS, 'link', 'set', 'd1', 'up']);
}, 900_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  spawnSync('ip', ['netns', 'del', NS]);
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('boottorrent service', () => {
  it('install writes a unit systemd-analyze verify accepts; remove deletes it', async () => {
    const root = join(tmp, 'root');
    const unit = join(root, 'etc/systemd/system/boottorrent-lab1.service');
    const r = run(['service', 'install', project, '--root', root]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`wrote ${unit} and ${join(root, 'etc/sysusers.d/boottorrent.conf')}\n`);
    const text = await readFile(unit, 'utf8');
    expect(text).toContain(`ExecStart=${process.execPath} ${CLI} start ${project}\n`);
    expect(text).toContain('\nAmbientCapabilities=CAP_NET_BIND_SERVICE CAP_NET_RAW\n');
    expect(text).toContain('\nUser=boottorrent\n');
    expect((await stat(unit)).mode & 0o777).toBe(0o644);

    // Warnings (an unknown key, a bad value) print but exit 0, so the output must be empty too.
    const v = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
    expect(v.error).toBeUndefined();
    expect(v.stderr + v.stdout).toBe('');
    expect(v.status).toBe(0);

    expect(run(['service', 'remove', project, '--root', root]).stdout).toBe(`removed ${unit}\n`);
    expect(existsSync(unit)).toBe(false);
    expect(run(['service', 'remove', project, '--root', root]).stdout).toBe(
      `no unit for ${project} to remove\n`,
    );
    const bad = run(['service', 'restart', project]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.split('\n')[0]).toBe(
      'boottorrent: unknown action "restart": expected install or remove',
    );
  });

  it('start runs as a non-root user with only CAP_NET_BIND_SERVICE + CAP_NET_RAW: DHCP, TFTP on 69, HTTP on 80; SIGHUP reloads', async () => {
    const child = spawn(
      'ip',
      [
        ...['netns', 'exec', NS, 'setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups'],
        '--inh-caps=+net_bind_service,+net_raw',
        '--ambient-caps=+net_bind_service,+net_raw',
        ...[process.execPath, CLI, 'start', project, '--json'],
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(child);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const listening: Record<string, number> = {};
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (l) => {
        const e = JSON.parse(l) as { type: string; service?: string; port?: number };
        if (e.type === 'listening') listening[e.service!] = e.port!;
        if (e.type === 'ready') resolve();
      });
      child.on('exit', (code) => reject(new Error(`start exited ${code}: ${stderr}`)));
      setTimeout(() => reject(new Error(`start not ready after 150 s: ${stderr}`)), 150_000).unref();
    });
    expect(listening).toMatchObject({ dhcp: 67, tftp: 69, http: 80 });

    // ip netns exec and setpriv exec, so the child's pid is Node's: not root, two capabilities.
    const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
    expect(/^Uid:\s+(\d+)/m.exec(status)![1]).toBe(String(NOBODY));
    const eff = BigInt(`0x${/^CapEff:\s+([0-9a-f]+)/m.exec(status)![1]}`);
    expect(eff).toBe((1n << 10n) | (1n << 13n)); // CAP_NET_BIND_SERVICE, CAP_NET_RAW

    const script = sh(['ip', 'netns', 'exec', NS, 'curl', '-sf', `http://${ADDR}/boot.ipxe`]);
    expect(script).toBe(`#!ipxe\nchain http://${ADDR}:80/boot.ipxe?mac=\${netX/mac}\n`);
    const got = join(tmp, 'undionly.kpxe');
    sh(['ip', 'netns', 'exec', NS, 'tftp', '-m', 'binary', ADDR, '-c', 'get', 'undionly.kpxe', got]);
    const served = await readFile(join(project, 'out/tftp/undionly.kpxe'));
    expect(await readFile(got)).toEqual(served);
    expect(served.length).toBeGreaterThan(1000);

    // SIGHUP, as `systemctl reload` sends it: a new OS folder is served without a restart...
    const stderrAfter = async (re: RegExp) => {
      const from = stderr.length;
      const until = Date.now() + 120_000;
      while (!re.test(stderr.slice(from))) {
        if (Date.now() > until || child.exitCode !== null) throw new Error(`no ${re} in: ${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      return stderr.slice(from);
    };
    sh(['cp', '-r', join(project, 'oss/hello'), join(project, 'oss/second')]);
    await writeFile(
      join(project, 'oss/second/config.yaml'),
      'dispname: Second\nmethod: bin\nbin: hello.sh\n',
    );
    let said = stderrAfter(/^reloaded: .*\n/m);
    child.kill('SIGHUP');
    expect(await said).toContain('reloaded: added second\n');
    const second = sh(['ip', 'netns', 'exec', NS, 'curl', '-sf', `http://${ADDR}/webseed/second/hello.sh`]);
    expect(second).toBe(await readFile(join(project, 'oss/second/hello.sh'), 'utf8'));
    // ...and a broken config.yaml keeps the running project, one line per problem.
    await writeFile(
      join(project, 'config.yaml'),
      `${await readFile(join(project, 'config.yaml'), 'utf8')}bogus: 1\n`,
    );
    said = stderrAfter(/^reload refused.*\n( {2}.*\n)+/m);
    child.kill('SIGHUP');
    const refused = await said;
    expect(refused).toMatch(
      /^reload refused, still serving the previous project \(1 problem\(s\)\):\n {2}.*config\.yaml:\d+:\d+.*bogus/m,
    );
    expect(sh(['ip', 'netns', 'exec', NS, 'curl', '-sf', `http://${ADDR}/webseed/second/hello.sh`])).toBe(
      second,
    );

    const exit = new Promise((r) => child.on('exit', r));
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
  }, 400_000);
});
