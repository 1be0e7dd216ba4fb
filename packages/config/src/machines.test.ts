import { describe, expect, it } from 'vitest';
import { badCmdline, findMachine, parseMacPattern } from './machines.js';
import { machineSchema } from './schema.js';

const entry = (mac: string | string[], os: string) => machineSchema.parse({ mac, os });

describe('MAC patterns', () => {
  it('reads a MAC in either separator and case, and prefixes of one to five whole octets', () => {
    expect(parseMacPattern('52-54-00-AB-cd-EF')).toEqual({ kind: 'mac', mac: '52:54:00:ab:cd:ef' });
    expect(parseMacPattern('52:54:00:*')).toEqual({ kind: 'prefix', prefix: '52:54:00:', octets: 3 });
    expect(parseMacPattern('52:*')).toEqual({ kind: 'prefix', prefix: '52:', octets: 1 });
    expect(parseMacPattern('52:54:00:ab:cd:*')).toMatchObject({ octets: 5 });
  });

  it('refuses half octets, six-octet prefixes, a bare * and other text', () => {
    for (const bad of ['52:54:0*', '52:54:00:ab:cd:ef:*', '*', '52:54:00', 'zz:54:00:ab:cd:ef', ''])
      expect(parseMacPattern(bad), bad).toBeNull();
  });
});

describe('findMachine', () => {
  const machines = [
    entry('52:54:00:*', 'room'),
    entry(['52:54:00:00:00:01', '52:54:00:00:00:02'], 'desk'),
    entry('52:54:00:00:*', 'row'),
  ];

  it('prefers an exact MAC to any prefix, and a longer prefix to a shorter one', () => {
    expect(findMachine(machines, '52:54:00:00:00:02')).toMatchObject({
      index: 1,
      match: '52:54:00:00:00:02',
      entry: { os: 'desk' },
    });
    expect(findMachine(machines, '52-54-00-00-AA-01')).toMatchObject({ index: 2, match: '52:54:00:00:*' });
    expect(findMachine(machines, '52:54:00:11:00:01')).toMatchObject({ index: 0, match: '52:54:00:*' });
  });

  it('matches nothing outside every pattern', () => {
    expect(findMachine(machines, '52:55:00:00:00:01')).toBeUndefined();
    expect(findMachine([], '52:54:00:00:00:01')).toBeUndefined();
  });
});

describe('badCmdline', () => {
  it('takes plain kernel words and refuses what would break or change a boot script', () => {
    expect(badCmdline('quiet nomodeset console=tty1 hostname=pc-12')).toBeNull();
    expect(badCmdline('a\nb')).toBe('holds a control character or line break');
    expect(badCmdline('root=${x}')).toBe('holds a quote, $ or backslash');
    expect(badCmdline('x="a b"')).toBe('holds a quote, $ or backslash');
    expect(badCmdline('café')).toBe('holds a non-ASCII character');
  });
});
