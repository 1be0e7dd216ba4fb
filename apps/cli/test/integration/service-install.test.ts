import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, run } from './_run.js';

/**
 * `boottorrent service install|remove` without --root, as an administrator runs it: the real
 * systemd-sysusers, id and chown. Each CLI run happens in a private mount namespace whose /etc is
 * a copy of this machine's (bind-mounted over the whole directory: systemd-sysusers replaces
 * /etc/passwd by rename), so the user and the unit land in the copy and the real /etc never
 * changes. No systemd runs as init here, so no daemon-reload.
 */
const USER = 'boottorrent';
const USER2 = 'bt-lab2';
const MARK = '.bt-service-install-test';
let tmp: string;
let etc: string;

/** `boottorrent <args>` in a new mount namespace with the copy over /etc (checked by a marker). */
function inNs(args: string[]) {
  const r = spawnSync(
    'unshare',
    [
      ...['--mount', '--propagation', 'private', '--', 'sh', '-c'],
      `mount --bind "$1" /etc && test -e /etc/${MARK} && shift && exec "$@"`,
      ...['sh', etc, process.execPath, CLI, ...args],
    ],
    { encoding: 'utf8', timeout: 60_000 },
  );
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Where an /etc path of the namespace is, seen from here. */
function inCopy(path: string): string {
  expect(path.startsWith('/etc/')).toBe(true);
  return join(etc, path.slice('/etc/'.length));
}

/** The `name:` line of a passwd or group file, split on `:`, or undefined. */
async function entry(file: string, name: string): Promise<string[] | undefined> {
  const lines = (await readFile(file, 'utf8')).split('\n').filter((l) => l.startsWith(`${name}:`));
  expect(lines.length).toBeLessThanOrEqual(1);
  return lines[0]?.split(':');
}

async function expectNoLeak(): Promise<void> {
  expect(await entry('/etc/passwd', USER)).toBeUndefined();
  expect(await entry('/etc/group', USER)).toBeUndefined();
  expect(await entry('/etc/passwd', USER2)).toBeUndefined();
  expect(existsSync('/etc/systemd/system/boottorrent-lab1.service')).toBe(false);
  for (const f of [`${USER}.conf`, `${USER2}.conf`]) expect(existsSync(`/etc/sysusers.d/${f}`)).toBe(false);
}

async function project(name: string, dhcp: boolean, parent = tmp): Promise<string> {
  const dir = join(parent, name);
  const r = run(['init', dir]);
  expect(r.code, r.stderr).toBe(0);
  const config = join(dir, 'config.yaml');
  const text = await readFile(config, 'utf8');
  // The template enables DHCP; the second project turns it off (CAP_NET_RAW is for DHCP only).
  expect(text).toMatch(/^ {2}enable: true$/m);
  if (!dhcp) await writeFile(config, text.replace(/^( {2}enable:) true$/m, '$1 false'));
  return dir;
}

beforeAll(async () => {
  for (const tool of ['unshare', 'systemd-sysusers'])
    expect(spawnSync(tool, ['--version']).error, `${tool} is needed`).toBeUndefined();
  // Preconditions: without them the leak check below would prove nothing.
  await expectNoLeak();
  tmp = await mkdtemp(join(tmpdir(), 'bt-service-install-'));
  // mkdtemp makes it 0700: the service user could not reach projects inside (the refusal test).
  await chmod(tmp, 0o755);
  etc = join(tmp, 'etc');
  const cp = spawnSync('cp', ['-a', '/etc', etc], { encoding: 'utf8' });
  expect(cp.status, cp.stderr).toBe(0);
  await writeFile(join(etc, MARK), '');
});

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
  await expectNoLeak();
});

describe('boottorrent service install, not --root (in a mount namespace over a copy of /etc)', () => {
  it('creates the user, writes the unit, hands the project to the user; remove deletes the unit', async () => {
    const lab1 = await project('lab1', true);
    const lab2 = await project('lab2', false);
    const token = join(lab1, '.boottorrent-token');
    expect((await stat(token)).mode & 0o777).toBe(0o600);
    await writeFile(join(lab1, 'machines.state.json'), '{"version":1,"machines":{}}\n');

    const r = inNs(['service', 'install', lab1]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const unitFile = '/etc/systemd/system/boottorrent-lab1.service';
    expect(r.stdout.split('\n')).toEqual([
      `wrote ${unitFile} and /etc/sysusers.d/${USER}.conf`,
      'start it with: systemctl enable --now boottorrent-lab1.service (systemd is not running here)',
      '',
    ]);

    // The user, in the copy: a system account (below 1000) with its own group and no login.
    const pw = await entry(join(etc, 'passwd'), USER);
    expect(pw, 'user in the copied passwd').toBeDefined();
    const [uid, gid] = [Number(pw![2]), Number(pw![3])];
    expect(uid).toBeGreaterThan(0);
    expect(uid).toBeLessThan(1000);
    expect((await entry(join(etc, 'group'), USER))?.[2]).toBe(String(gid));
    expect(pw![6]).toMatch(/nologin$/);
    expect(await readFile(join(etc, `sysusers.d/${USER}.conf`), 'utf8')).toMatch(
      new RegExp(`^u ${USER} - `, 'm'),
    );

    // The unit: as that user, never root; only CAP_NET_BIND_SERVICE, plus CAP_NET_RAW for DHCP.
    const unit = await readFile(inCopy(unitFile), 'utf8');
    const lines = unit.split('\n');
    expect(lines).toContain(`User=${USER}`);
    expect(lines).toContain(`Group=${USER}`);
    expect(lines).toContain(`ExecStart=${process.execPath} ${CLI} start ${lab1}`);
    expect(lines).toContain('AmbientCapabilities=CAP_NET_BIND_SERVICE CAP_NET_RAW');
    expect(lines).toContain('CapabilityBoundingSet=CAP_NET_BIND_SERVICE CAP_NET_RAW');
    expect(lines).toContain(`ReadWritePaths=${lab1}`);
    expect(unit).not.toMatch(/CAP_NET_ADMIN|CAP_SYS_ADMIN|^User=root$/m);
    expect((await stat(inCopy(unitFile))).mode & 0o777).toBe(0o644);

    // Handed over: the project directory, out/ (made), the token (still 0600), the machine state.
    for (const p of [lab1, join(lab1, 'out'), token, join(lab1, 'machines.state.json')]) {
      const st = await stat(p);
      expect([p, st.uid, st.gid]).toEqual([p, uid, gid]);
    }
    expect((await stat(token)).mode & 0o777).toBe(0o600);
    // The OS folders and config.yaml stay the administrator's.
    expect((await stat(join(lab1, 'config.yaml'))).uid).toBe(0);

    // A second project without DHCP, as another user: no CAP_NET_RAW, and its own sysusers.d file,
    // so the first user's line stays.
    const r2 = inNs(['service', 'install', lab2, '--user', USER2]);
    expect(r2.stderr).toBe('');
    expect(r2.code).toBe(0);
    const pw2 = await entry(join(etc, 'passwd'), USER2);
    expect(pw2, 'second user in the copied passwd').toBeDefined();
    expect(pw2![2]).not.toBe(String(uid));
    expect((await entry(join(etc, 'passwd'), USER))?.[2]).toBe(String(uid));
    expect(await readFile(join(etc, `sysusers.d/${USER}.conf`), 'utf8')).toMatch(
      new RegExp(`^u ${USER} - `, 'm'),
    );
    expect(await readFile(join(etc, `sysusers.d/${USER2}.conf`), 'utf8')).toMatch(
      new RegExp(`^u ${USER2} - `, 'm'),
    );
    const unit2 = (await readFile(join(etc, 'systemd/system/boottorrent-lab2.service'), 'utf8')).split('\n');
    expect(unit2).toContain(`User=${USER2}`);
    expect(unit2).toContain('AmbientCapabilities=CAP_NET_BIND_SERVICE');
    expect(unit2).toContain('CapabilityBoundingSet=CAP_NET_BIND_SERVICE');
    expect((await stat(lab2)).uid).toBe(Number(pw2![2]));

    const rm1 = inNs(['service', 'remove', lab1]);
    expect(rm1.stderr).toBe('');
    expect(rm1.code).toBe(0);
    expect(rm1.stdout).toBe(`removed ${unitFile}\n`);
    expect(existsSync(inCopy(unitFile))).toBe(false);
    expect(existsSync(join(etc, 'systemd/system/boottorrent-lab2.service'))).toBe(true);
    // The user stays: other projects' units run as it.
    expect((await entry(join(etc, 'passwd'), USER))?.[2]).toBe(String(uid));
    expect(inNs(['service', 'remove', lab1]).stdout).toBe(`no unit for ${lab1} to remove\n`);
    await expectNoLeak();
  });

  it('refuses, before writing the unit, a project the service user cannot reach', async () => {
    const locked = join(tmp, 'locked');
    await mkdir(locked, { mode: 0o700 });
    const lab3 = await project('lab3', true, locked);
    const r = inNs(['service', 'install', lab3]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const lines = r.stderr.split('\n');
    expect(lines[0]).toBe(
      `boottorrent: user ${USER} cannot reach ${lab3}: ${locked} is mode 0700, owner 0:0`,
    );
    expect(lines[1]).toMatch(new RegExp(`^hint: chmod o\\+x ${locked}\\b`));
    expect(lines.slice(2)).toEqual(['']);
    expect(existsSync(join(etc, 'systemd/system/boottorrent-lab3.service'))).toBe(false);
    expect((await stat(lab3)).uid).toBe(0);

    // A user name that is not one (here a path) is refused before anything is written.
    const bad = inNs(['service', 'install', lab3, '--user', '../x']);
    expect(bad.code).toBe(1);
    expect(bad.stderr.split('\n')[0]).toBe('boottorrent: user "../x" is not a valid system user name');
    expect(existsSync(join(etc, 'x.conf'))).toBe(false);
    await expectNoLeak();
  });
});
