import { describe, expect, it } from 'vitest';
import { TrackerError, TrackerErrorCode } from './errors.js';
import { startTracker } from './tracker.js';

describe('TrackerError', () => {
  it('carries code, hint and cause', () => {
    const cause = new Error('EADDRINUSE');
    const e = new TrackerError(TrackerErrorCode.Bind, 'tracker cannot listen on 0.0.0.0:6969', {
      cause,
      hint: 'pick another port (0 = any)',
    });
    expect(e).toBeInstanceOf(Error);
    expect(e).toMatchObject({
      name: 'TrackerError',
      code: 'TRACKER_BIND',
      hint: 'pick another port (0 = any)',
    });
    expect(e.cause).toBe(cause);
  });

  it('has an empty hint and no cause when none are given', () => {
    const e = new TrackerError(TrackerErrorCode.BadOption, 'bad');
    expect(e.hint).toBe('');
    expect('cause' in e).toBe(false);
  });

  it('prefixes every code with TRACKER_', () => {
    for (const code of Object.values(TrackerErrorCode)) expect(code).toMatch(/^TRACKER_[A-Z_]+$/);
  });

  it('rejects an aborted signal with TRACKER_ABORTED carrying the reason', async () => {
    const reason = new Error('stop');
    await expect(
      startTracker({ host: '127.0.0.1', port: 0, signal: AbortSignal.abort(reason) }),
    ).rejects.toMatchObject({
      code: 'TRACKER_ABORTED',
      cause: reason,
    });
  });
});
