import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { run } from './_run.js';

const version = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

describe('boottorrent usage', () => {
  it('--help lists every command', () => {
    const r = run(['--help']);
    expect(r.code).toBe(0);
    for (const name of ['init', 'check', 'build', 'start', 'lab', 'version'])
      expect(r.stdout).toMatch(new RegExp(`^  ${name} +\\S`, 'm'));
  });

  it.each(['init', 'check', 'build', 'start', 'lab', 'version'])(
    '%s --help shows its usage and options',
    (name) => {
      const r = run([name, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Usage: boottorrent ${name}`);
      expect(r.stdout).toContain('-h, --help');
    },
  );

  it('version and --version print the package version', () => {
    expect(run(['--version']).stdout).toBe(`${version}\n`);
    expect(run(['version']).stdout).toMatch(
      new RegExp(`^boottorrent ${version.replaceAll('.', '\\.')} \\(node v\\d+`),
    );
  });

  it('an unknown command gets the usage and exit 2', () => {
    const r = run(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'boottorrent: unknown command "frobnicate"\nhint: commands: ' + r.stderr.split('commands: ')[1],
    );
    expect(r.stderr).toContain('see boottorrent --help');
  });

  it('an unknown option gets one line, the command usage and exit 2', () => {
    const r = run(['check', '--frob']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'boottorrent: unknown option --frob\nhint: usage: boottorrent check [dir] [--json]\n',
    );
  });

  it('a missing argument gets the usage and exit 2', () => {
    const r = run(['init']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'boottorrent: missing argument <dir>\nhint: usage: boottorrent init <dir> [--host-ip <ip>] [--interface <name>]\n',
    );
  });

  it('an option without its value says which value is missing', () => {
    const r = run(['build', '--out']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('boottorrent: --out needs a value\nhint: write --out <dir>\n');
  });

  it('start --help lists every option in its usage line, --phase1-dir and --no-seeder included', () => {
    const r = run(['start', '--help']);
    const usage = r.stdout.slice(
      r.stdout.indexOf('Usage:'),
      r.stdout.indexOf('\n\n', r.stdout.indexOf('Usage:')),
    );
    for (const flag of [
      '--dir',
      '--json',
      '--out',
      '--host-root',
      '--phase1-dir',
      '--cmdline',
      '--no-seeder',
    ])
      expect(usage).toContain(`[${flag}`);
  });

  it('help <command> is the same as <command> --help', () => {
    expect(run(['help', 'lab']).stdout).toBe(run(['lab', '--help']).stdout);
  });

  it('no arguments prints the help and exits 2', () => {
    const r = run([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('Usage: boottorrent <command>');
  });
});

describe('boottorrent lab argument checks', () => {
  it('rejects a bad --mode, --vms or --kill-vm in one line before touching the network', () => {
    const mode = run(['lab', '--mode', 'relay']);
    expect(mode.code).toBe(2);
    expect(mode.stderr).toBe(
      'boottorrent: --mode must be server or proxy, got "relay"\nhint: see boottorrent lab --help\n',
    );
    const kill = run(['lab', '--vms', '2', '--kill-vm', '2']);
    expect(kill.code).toBe(2);
    expect(kill.stderr).toBe(
      'boottorrent: --kill-vm 2 is not one of the 2 VMs (0-based)\nhint: pick a VM from 0 to 1\n',
    );
    const vms = run(['lab', '--vms', 'many']);
    expect(vms.code).toBe(2);
    expect(vms.stderr).toBe(
      'boottorrent: --vms must be a whole number ≥ 1, got "many"\nhint: see boottorrent lab --help\n',
    );
  });
});
