import { describe, expect, it } from 'vitest';
import { TftpError, TftpErrorCode } from './errors.js';

describe('TftpError', () => {
  it('carries code, hint and cause', () => {
    const cause = new Error('EACCES');
    const e = new TftpError(TftpErrorCode.Bind, 'tftp: cannot bind 0.0.0.0:69', {
      cause,
      hint: 'run as root',
    });
    expect(e).toBeInstanceOf(Error);
    expect(e).toMatchObject({ name: 'TftpError', code: 'TFTP_BIND', hint: 'run as root' });
    expect(e.cause).toBe(cause);
  });

  it('has an empty hint and no cause when none are given', () => {
    const e = new TftpError(TftpErrorCode.Timeout, 'no ACK');
    expect(e.hint).toBe('');
    expect('cause' in e).toBe(false);
  });

  it('prefixes every code with TFTP_', () => {
    for (const code of Object.values(TftpErrorCode)) expect(code).toMatch(/^TFTP_[A-Z_]+$/);
  });
});
