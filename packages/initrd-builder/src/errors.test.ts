import { describe, expect, it } from 'vitest';
import { InitrdError, InitrdErrorCode } from './errors.js';

describe('InitrdError', () => {
  it('carries code, hint and cause', () => {
    const cause = new Error('spawn xz ENOENT');
    const e = new InitrdError(InitrdErrorCode.ToolFailed, 'cannot run xz', {
      cause,
      hint: 'apt-get install xz-utils',
    });
    expect(e).toBeInstanceOf(Error);
    expect(e).toMatchObject({
      name: 'InitrdError',
      code: 'INITRD_TOOL_FAILED',
      hint: 'apt-get install xz-utils',
    });
    expect(e.cause).toBe(cause);
  });

  it('has an empty hint and no cause when none are given', () => {
    const e = new InitrdError(InitrdErrorCode.BadEntry, 'cpio entry "a" appears twice');
    expect(e.hint).toBe('');
    expect('cause' in e).toBe(false);
  });

  it('prefixes every code with INITRD_', () => {
    for (const code of Object.values(InitrdErrorCode)) expect(code).toMatch(/^INITRD_[A-Z_]+$/);
  });
});
