import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run } from './_run.js';

let tmp: string;
beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'bt-cli-'));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('boottorrent init + check', () => {
  it('init creates a project that check accepts', () => {
    const init = run(['init', join(tmp, 'lab1'), '--host-ip', '10.77.0.1', '--interface', 'br0']);
    expect(init.stderr).toBe('');
    expect(init.code).toBe(0);
    expect(init.stdout).toContain('config.yaml');
    const check = run(['check', join(tmp, 'lab1')]);
    expect(check.code).toBe(0);
    expect(check.stdout).toBe('ok: config.yaml and 1 OS folder (hello)\n');
  });

  it('check defaults to the current directory', () => {
    run(['init', join(tmp, 'lab1')]);
    const check = run(['check'], { cwd: join(tmp, 'lab1') });
    expect(check.code).toBe(0);
  });

  it('lists every problem of a config broken in several ways, then exits 1', async () => {
    const dir = join(tmp, 'lab1');
    run(['init', dir, '--host-ip', '10.77.0.1']);
    const cfg = await readFile(join(dir, 'config.yaml'), 'utf8');
    await writeFile(
      join(dir, 'config.yaml'),
      cfg
        .replace('timeout: 10', 'timeout: soon')
        .replace('default_os: hello', 'default_os: nothere')
        .replace('  port: 8080', '  prot: 8080')
        .replace('start: 10.77.0.100', 'start: 10.77.9.100'),
    );
    await mkdir(join(dir, 'oss/broken'));
    const check = run(['check', dir]);
    expect(check.code).toBe(1);
    const lines = check.stdout.trim().split('\n');
    expect(lines).toEqual([
      expect.stringMatching(
        /^error: config\.yaml:\d+:12 general\.timeout: expected number, got string "soon"/,
      ),
      expect.stringMatching(/^error: config\.yaml:\d+:3 http\.prot: unknown key — did you mean "port"\?$/),
      'error: oss/broken OS folder has no config.yaml — add oss/broken/config.yaml with dispname and method (see oss/README.md), or remove the folder',
      expect.stringMatching(
        /^error: config\.yaml:\d+:15 general\.default_os: "nothere" is not a folder in oss\/ — use one of: broken, hello$/,
      ),
      expect.stringMatching(
        /^error: config\.yaml:\d+:\d+ dhcp\.range\.start: 10\.77\.9\.100 is outside 10\.77\.0\.0\/24/,
      ),
      expect.stringMatching(
        /^error: config\.yaml:\d+:\d+ dhcp\.range: start 10\.77\.9\.100 is after end 10\.77\.0\.199 — swap them$/,
      ),
      '6 errors',
    ]);
    expect(check.stderr).toBe('');
  });

  it('check reports machines: problems one line each, with their position', async () => {
    const dir = join(tmp, 'lab1');
    run(['init', dir, '--host-ip', '10.77.0.1']);
    const cfg = await readFile(join(dir, 'config.yaml'), 'utf8');
    await writeFile(
      join(dir, 'config.yaml'),
      cfg +
        'machines:\n  - mac: 52:54:00:12:34:56\n    os: nothere\n  - mac: [52:54:00:12:34:56, 52:54:00:99]\n',
    );
    const check = run(['check', dir]);
    expect(check.code).toBe(1);
    expect(check.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^error: config\.yaml:\d+:9 machines\.0\.os: "nothere" is not a folder in oss\/ — use one of: hello$/,
      ),
      expect.stringMatching(
        /^error: config\.yaml:\d+:11 machines\.1\.mac\.0: 52:54:00:12:34:56 is also listed at machines\.0\.mac — list each MAC or pattern in one entry only$/,
      ),
      expect.stringMatching(
        /^error: config\.yaml:\d+:30 machines\.1\.mac\.1: "52:54:00:99" is not a MAC address or pattern — /,
      ),
      '3 errors',
    ]);
  });

  it('check --json reports problems as data', async () => {
    const dir = join(tmp, 'lab1');
    run(['init', dir]);
    await writeFile(join(dir, 'oss/hello/config.yaml'), 'dispname: Hello\nmethod: bin\nbin: missing.sh\n');
    const check = run(['check', dir, '--json']);
    expect(check.code).toBe(1);
    const json = JSON.parse(check.stdout);
    expect(json.ok).toBe(false);
    expect(json.errors).toMatchObject([{ file: 'oss/hello/config.yaml', line: 3, column: 6, key: 'bin' }]);
  });

  it('check of a directory that is not a project says so in one line', () => {
    const check = run(['check', join(tmp, 'nope')]);
    expect(check.code).toBe(1);
    expect(check.stdout).toContain('is not a directory — run `boottorrent init <dir>` to create a project');
    expect(check.stdout + check.stderr).not.toMatch(/\bat .*\.js:\d+/);
  });

  it('init refuses a non-empty directory without a stack trace', async () => {
    await writeFile(join(tmp, 'file'), 'x');
    const init = run(['init', tmp]);
    expect(init.code).toBe(1);
    expect(init.stderr).toMatch(
      /^boottorrent: .* is not empty \(1 entries\); nothing was written\nhint: pick a new or empty directory\n$/,
    );
  });
});
