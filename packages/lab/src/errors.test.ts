import { describe, expect, it } from 'vitest';
import { LabError, LabErrorCode } from './errors.js';

describe('LabError', () => {
  it('carries a code, a hint and a cause, as every package error does', () => {
    const cause = new Error('EPERM');
    const e = new LabError(LabErrorCode.Command, 'ip netns add x: exit 1', { cause, hint: 'run as root' });
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('LabError');
    expect(e.code).toBe('LAB_COMMAND');
    expect(e.hint).toBe('run as root');
    expect(e.cause).toBe(cause);
    expect(new LabError(LabErrorCode.BadOption, 'x').hint).toBe('');
  });

  it('prefixes every code with LAB_', () => {
    for (const code of Object.values(LabErrorCode)) expect(code).toMatch(/^LAB_[A-Z_]+$/);
    expect(LabErrorCode).toMatchObject({ BadOption: 'LAB_BAD_OPTION', Aborted: 'LAB_ABORTED' });
  });
});
