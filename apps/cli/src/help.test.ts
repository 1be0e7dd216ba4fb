import { describe, expect, it } from 'vitest';
import { COMMANDS, lab, start } from './commands/index.js';
import { commandHelp, shortUsage, usageLine } from './help.js';
import { demo } from '../test/fixtures/demo-command.js';

describe('usage and help generated from the options', () => {
  it('shows each kind of option with its value, choices, range and default', () => {
    const help = commandHelp(demo);
    // The rows of the Arguments and Options tables (below the usage line).
    const rows = help.split('\n').slice(help.split('\n').indexOf('Arguments:'));
    const line = (flag: string) => rows.find((l) => l.includes(flag)) ?? '';
    expect(line('--json')).toMatch(/^ {2}-j, --json +JSON out$/);
    expect(line('--out')).toContain('--out <dir>');
    expect(line('--out')).toContain('(default: <dir>/out)');
    expect(line('--mode')).toContain('(one of: server, proxy; default: server)');
    expect(line('--root')).toContain('(repeatable)');
    expect(line('--vms')).toContain('(≥ 1; default: 3)');
    expect(line('--kill')).toContain('(0–9)');
    expect(line('dir')).toContain('Where (default: .)');
    expect(usageLine(demo)).toBe(
      'Usage: boottorrent demo [dir] [--json] [--out <dir>] [--mode server|proxy] [--nic <value>]\n' +
        '                        [--root <dir>]... [--vms <n>] [--kill <n>]',
    );
  });

  it.each(COMMANDS.map((c) => [c.name, c] as const))(
    '%s: the usage line and --help name every option',
    (_, cmd) => {
      const help = commandHelp(cmd);
      const usage = usageLine(cmd, Infinity);
      const flat = help.replace(/\s+/g, ' ');
      expect(help).toContain(usageLine(cmd));
      for (const [name, o] of Object.entries(cmd.options)) {
        expect(usage).toContain(`[--${name}`);
        expect(help).toMatch(new RegExp(`^ {2}(-\\w, | {4})--${name}\\b`, 'm'));
        expect(flat).toContain(o.description);
      }
      for (const p of cmd.positionals)
        expect(usage).toContain(p.default === undefined ? `<${p.name}>` : `[${p.name}]`);
      expect(help).toContain('-h, --help');
      for (const l of help.split('\n')) expect(l.length, l).toBeLessThanOrEqual(100);
    },
  );

  it('start --help shows --phase1-dir and --no-seeder in its usage line', () => {
    const usage = usageLine(start, Infinity);
    expect(usage).toContain('[--phase1-dir <dir>]');
    expect(usage).toContain('[--no-seeder]');
  });

  it('a long usage is shortened to [options] in hints, a short one is kept whole', () => {
    expect(shortUsage(lab)).toBe('boottorrent lab [options] (see boottorrent lab --help)');
    const check = COMMANDS.find((c) => c.name === 'check')!;
    expect(shortUsage(check)).toBe('boottorrent check [dir] [--json]');
  });
});
