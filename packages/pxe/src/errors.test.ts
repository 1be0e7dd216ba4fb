import { describe, expect, it } from 'vitest';
import { malformed, PxeError, PxeErrorCode } from './errors.js';
import { startDhcpServer } from './server.js';
import { staticPlan } from './plan.js';

describe('PxeError', () => {
  it('carries code, hint, cause and reason', () => {
    const cause = new Error('EACCES');
    const e = new PxeError(PxeErrorCode.Bind, 'cannot bind UDP port 67 on eth0', {
      cause,
      hint: 'run as root',
    });
    expect(e).toBeInstanceOf(Error);
    expect(e).toMatchObject({ name: 'PxeError', code: 'PXE_BIND', hint: 'run as root', reason: undefined });
    expect(e.cause).toBe(cause);
  });

  it('has an empty hint and no cause when none are given', () => {
    const e = new PxeError(PxeErrorCode.BadOption, 'bad');
    expect(e.hint).toBe('');
    expect('cause' in e).toBe(false);
  });

  it('turns a malformed-packet signal into PXE_MALFORMED_PACKET with its drop reason', () => {
    expect(malformed('bad-cookie', 'magic cookie is 0').toError()).toMatchObject({
      code: 'PXE_MALFORMED_PACKET',
      reason: 'bad-cookie',
      message: 'malformed DHCP packet: magic cookie is 0',
    });
  });

  it('prefixes every code with PXE_', () => {
    for (const code of Object.values(PxeErrorCode)) expect(code).toMatch(/^PXE_[A-Z_]+$/);
  });

  it('rejects an already aborted signal with PXE_ABORTED carrying the reason, before touching the interface', async () => {
    const reason = new Error('stop');
    await expect(
      startDhcpServer({
        interface: 'lo',
        serverAddress: '127.0.0.1',
        mode: 'proxy',
        planFor: staticPlan({ scriptUrl: 'http://127.0.0.1/boot.ipxe' }),
        signal: AbortSignal.abort(reason),
      }),
    ).rejects.toMatchObject({ code: 'PXE_ABORTED', cause: reason });
  });
});
