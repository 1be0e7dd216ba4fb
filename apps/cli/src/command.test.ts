import { describe, expect, expectTypeOf, it } from 'vitest';
import { CliError, CliErrorCode, defineCommand, parseCommandArgs, type ArgsOf } from './command.js';
import { lab, start } from './commands/index.js';
import { shortUsage } from './help.js';
import { demo } from '../test/fixtures/demo-command.js';

function parse(argv: string[]) {
  const r = parseCommandArgs(demo, argv);
  if (r.help) throw new Error('unexpected help');
  return r;
}

/** The CliError a parse throws (fails the test when it does not throw one). */
function parseError(argv: string[]): CliError {
  try {
    parseCommandArgs(demo, argv);
  } catch (e) {
    if (e instanceof CliError) return e;
    throw e;
  }
  throw new Error(`parsing ${argv.join(' ')} did not fail`);
}

describe('parseCommandArgs', () => {
  it('applies defaults: false, [], the declared default, undefined when there is none', () => {
    const { values, positionals } = parse([]);
    expect(values).toEqual({
      json: false,
      out: undefined,
      mode: 'server',
      nic: 'virtio',
      root: [],
      vms: 3,
      kill: undefined,
    });
    expect(positionals).toEqual({ dir: '.' });
  });

  it('returns typed values: integers as numbers, choices as their union, lists as arrays', () => {
    const args = parse(['lab1', '-j', '--out=o', '--mode', 'proxy', '--root', 'a', '--root=b', '--vms', '5']);
    expect(args.values).toMatchObject({ json: true, out: 'o', mode: 'proxy', root: ['a', 'b'], vms: 5 });
    expect(args.positionals.dir).toBe('lab1');
    expectTypeOf(args.values.mode).toEqualTypeOf<'server' | 'proxy'>();
    expectTypeOf(args.values.vms).toEqualTypeOf<number>();
    expectTypeOf(args.values.kill).toEqualTypeOf<number | undefined>();
    expectTypeOf(args.values.out).toEqualTypeOf<string | undefined>();
    expectTypeOf(args.values.root).toEqualTypeOf<string[]>();
    expectTypeOf(args.values.json).toEqualTypeOf<boolean>();
    expectTypeOf<ArgsOf<typeof start>['values']['no-seeder']>().toEqualTypeOf<boolean>();
    expectTypeOf<ArgsOf<typeof lab>['values']['mode']>().toEqualTypeOf<'server' | 'proxy'>();
  });

  it('rejects a value outside the choices in one line with a hint, exit 2', () => {
    const e = parseError(['--mode', 'relay']);
    expect(e.code).toBe(CliErrorCode.BadOption);
    expect(e.exitCode).toBe(2);
    expect(e.message).toBe('--mode must be server or proxy, got "relay"');
    expect(e.message).not.toContain('\n');
    expect(e.hint).toBe('see boottorrent demo --help');
  });

  it('rejects an integer that is not whole or out of range', () => {
    expect(parseError(['--vms', 'many']).message).toBe('--vms must be a whole number ≥ 1, got "many"');
    expect(parseError(['--vms', '0']).message).toBe('--vms must be a whole number ≥ 1, got "0"');
    expect(parseError(['--vms', '2.5']).code).toBe(CliErrorCode.BadOption);
    expect(parseError(['--vms=']).code).toBe(CliErrorCode.BadOption);
    expect(parseError(['--kill', '10']).message).toBe('--kill must be a whole number from 0 to 9, got "10"');
  });

  it('names an unknown option, a missing value and a value given to a flag', () => {
    const unknown = parseError(['--frob']);
    expect([unknown.code, unknown.message, unknown.exitCode]).toEqual([
      CliErrorCode.Usage,
      'unknown option --frob',
      2,
    ]);
    expect(unknown.hint).toBe(`usage: ${shortUsage(demo)}`);
    expect(parseError(['-x']).message).toBe('unknown option -x');
    expect(parseError(['--out']).message).toBe('--out needs a value');
    expect(parseError(['--out']).hint).toBe('write --out <dir>');
    const ambiguous = parseError(['--out', '--json']);
    expect(ambiguous.message).toBe('--out needs a value, got the option "--json"');
    expect(ambiguous.hint).toContain('--out=--json');
    expect(parseError(['--json=yes']).message).toBe('--json takes no value, got "yes"');
    expect(parseError(['--mode']).hint).toBe('write --mode server|proxy');
  });

  it('takes a value starting with a dash when given inline', () => {
    expect(parse(['--out=-weird']).values.out).toBe('-weird');
  });

  it('checks the number of arguments', () => {
    expect(parseError(['a', 'b']).message).toBe('unexpected argument "b"');
    const required = defineCommand({
      name: 'init',
      summary: 's',
      positionals: [{ name: 'dir', description: 'd' }],
      options: {},
    });
    expect(() => parseCommandArgs(required, [])).toThrow('missing argument <dir>');
    expect(parseCommandArgs(required, ['x'])).toEqual({ help: false, values: {}, positionals: { dir: 'x' } });
  });

  it('answers -h or --help anywhere before --, even beside a mistake', () => {
    for (const argv of [['--help'], ['-h'], ['lab1', '--frob', '--help'], ['--mode', 'relay', '-h']])
      expect(parseCommandArgs(demo, argv)).toEqual({ help: true });
    expect(parse(['--', '--help']).positionals.dir).toBe('--help');
  });

  it('refuses a default outside the choices when the command is defined', () => {
    expect(() =>
      defineCommand({
        name: 'bad',
        summary: 's',
        positionals: [],
        options: { mode: { type: 'string', choices: ['a', 'b'], default: 'c', description: 'm' } },
      }),
    ).toThrow('default not in choices');
  });
});
