import { ConfigError, ConfigErrorCode, formatProblem, type Problem } from '@boottorrent/config';
import { describe, expect, it } from 'vitest';
import { CliError, CliErrorCode } from './command.js';
import { isKnownError, reportError } from './output.js';

async function report(e: unknown) {
  const lines: string[] = [];
  const code = await reportError(e, (l) => lines.push(l));
  return { code, lines };
}

describe('reportError', () => {
  it('prints any error with a string code and hint as one line plus the hint, exit 1', async () => {
    // A package error as the shared contract shapes it, whatever its class.
    class OtherError extends Error {
      readonly code = 'TFTP_BIND';
      readonly hint = 'pick a free port';
    }
    const r = await report(new OtherError('tftp: cannot bind 0.0.0.0:69 (in use)'));
    expect(r).toEqual({
      code: 1,
      lines: ['boottorrent: tftp: cannot bind 0.0.0.0:69 (in use)', 'hint: pick a free port'],
    });
  });

  it('leaves out an empty hint', async () => {
    const r = await report(Object.assign(new Error('seeder aborted'), { code: 'SEEDER_ABORTED', hint: '' }));
    expect(r.lines).toEqual(['boottorrent: seeder aborted']);
  });

  it("lists a ConfigError's problems between the message and the hint", async () => {
    const problem: Problem = {
      severity: 'error',
      file: 'config.yaml',
      line: 3,
      column: 5,
      key: 'dhcp.interface',
      message: 'is empty',
      hint: 'name the boot interface',
    };
    const e = new ConfigError(ConfigErrorCode.Invalid, 'the project has 1 problem', {
      problems: [problem],
      hint: 'run boottorrent check',
    });
    const r = await report(e);
    expect(r.code).toBe(1);
    expect(r.lines).toEqual([
      'boottorrent: the project has 1 problem',
      `  ${formatProblem(problem)}`,
      'hint: run boottorrent check',
    ]);
  });

  it("keeps a CliError's exit code: 2 for usage, 1 otherwise, or the one given", async () => {
    expect((await report(new CliError(CliErrorCode.Usage, 'missing argument <dir>'))).code).toBe(2);
    expect((await report(new CliError(CliErrorCode.BadOption, 'bad'))).code).toBe(2);
    expect((await report(new CliError(CliErrorCode.NotRoot, 'needs root', { hint: 'sudo' }))).code).toBe(1);
    expect((await report(new CliError(CliErrorCode.Failed, 'x', { exitCode: 3 }))).code).toBe(3);
  });

  it('prints the stack of anything else (our bug) and exits 70', async () => {
    const bug = new TypeError('cannot read properties of undefined');
    const r = await report(bug);
    expect(r.code).toBe(70);
    expect(r.lines[0]).toContain('internal error');
    expect(r.lines[1]).toBe(bug.stack);
    // A Node system error has a code but no hint: not one of ours, so it is shown in full.
    expect((await report(Object.assign(new Error('ENOENT'), { code: 'ENOENT' }))).code).toBe(70);
    expect((await report('a string')).lines[1]).toBe('a string');
  });
});

describe('isKnownError', () => {
  it('needs an Error with both code and hint as strings', () => {
    expect(isKnownError(new CliError(CliErrorCode.Usage, 'x'))).toBe(true);
    expect(isKnownError({ message: 'x', code: 'A', hint: '' })).toBe(false);
    expect(isKnownError(Object.assign(new Error('x'), { code: 1, hint: '' }))).toBe(false);
    expect(isKnownError(Object.assign(new Error('x'), { code: 'A', hint: undefined }))).toBe(false);
  });
});

describe('CliError', () => {
  it("follows the packages' contract: code, message, hint, cause, name", () => {
    const cause = new Error('low level');
    const e = new CliError(CliErrorCode.MissingDeps, 'the lab needs qemu', {
      hint: 'apt-get install qemu',
      cause,
    });
    expect([e.name, e.code, e.message, e.hint, e.cause, e.exitCode]).toEqual([
      'CliError',
      'CLI_MISSING_DEPS',
      'the lab needs qemu',
      'apt-get install qemu',
      cause,
      1,
    ]);
    expect(new CliError(CliErrorCode.Failed, 'x').hint).toBe('');
    for (const code of Object.values(CliErrorCode)) expect(code).toMatch(/^CLI_[A-Z_]+$/);
  });
});
