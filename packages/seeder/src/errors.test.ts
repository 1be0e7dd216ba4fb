import { describe, expect, it } from 'vitest';
import { abortError, SeederError, SeederErrorCode } from './errors.js';

describe('SeederError', () => {
  it('carries code, hint and cause', () => {
    const cause = new Error('EADDRINUSE');
    const e = new SeederError(SeederErrorCode.Bind, 'cannot listen for peers on *:6881', {
      cause,
      hint: 'pick another port (0 = any)',
    });
    expect(e).toBeInstanceOf(Error);
    expect(e).toMatchObject({
      name: 'SeederError',
      code: 'SEEDER_BIND',
      hint: 'pick another port (0 = any)',
    });
    expect(e.cause).toBe(cause);
  });

  it('has an empty hint and no cause when none are given', () => {
    const e = new SeederError(SeederErrorCode.Closed, 'seedFor() after close()');
    expect(e.hint).toBe('');
    expect('cause' in e).toBe(false);
  });

  it('makes SEEDER_ABORTED errors that carry the abort reason', () => {
    const reason = new Error('stop');
    expect(abortError(AbortSignal.abort(reason), 'download')).toMatchObject({
      code: 'SEEDER_ABORTED',
      message: 'download aborted',
      cause: reason,
    });
  });

  it('prefixes every code with SEEDER_', () => {
    for (const code of Object.values(SeederErrorCode)) expect(code).toMatch(/^SEEDER_[A-Z_]+$/);
  });
});
