import { describe, expect, it } from 'vitest';
import { ConfigError, ConfigErrorCode, type Problem } from './problem.js';

describe('ConfigError', () => {
  it('carries code, hint, cause and problems', () => {
    const cause = new Error('EACCES');
    const problem: Problem = {
      severity: 'error',
      file: 'config.yaml',
      key: 'dhcp',
      message: 'missing',
      hint: '',
    };
    const e = new ConfigError(ConfigErrorCode.Invalid, 'lab1: 1 error', {
      cause,
      hint: 'fix config.yaml',
      problems: [problem],
    });
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('ConfigError');
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.message).toBe('lab1: 1 error');
    expect(e.hint).toBe('fix config.yaml');
    expect(e.cause).toBe(cause);
    expect(e.problems).toEqual([problem]);
  });

  it('has an empty hint, no cause and no problems when none are given', () => {
    const e = new ConfigError(ConfigErrorCode.Io, 'cannot read x');
    expect(e.hint).toBe('');
    expect('cause' in e).toBe(false);
    expect(e.problems).toEqual([]);
  });

  it('prefixes every code with CONFIG_', () => {
    for (const code of Object.values(ConfigErrorCode)) expect(code).toMatch(/^CONFIG_[A-Z_]+$/);
  });
});
