import { describe, expect, it } from 'vitest';
import { resolveOptions, type DhcpServerOptions } from './server-options.js';
import type { InterfaceInfo } from './transport.js';

const iface: InterfaceInfo = {
  name: 'br0',
  index: 3,
  address: '10.77.0.1',
  netmask: '255.255.255.0',
  broadcast: '10.77.0.255',
};
const planFor = () => null;
const ok: DhcpServerOptions = {
  interface: 'br0',
  serverAddress: '10.77.0.1',
  mode: 'server',
  range: { start: '10.77.0.100', end: '10.77.0.199' },
  planFor,
};

describe('resolveOptions', () => {
  it('fills in the documented defaults', () => {
    const r = resolveOptions(ok, iface);
    expect(r).toMatchObject({
      port: 67,
      proxyPort: 4011,
      clientPort: 68,
      leaseTime: 3600,
      subnetMask: '255.255.255.0',
      replyBroadcast: '255.255.255.255',
      dns: [],
    });
    expect(resolveOptions({ ...ok, broadcast: 'subnet' }, iface).replyBroadcast).toBe('10.77.0.255');
  });

  it('does not mutate the caller options', () => {
    const o = { ...ok, dns: ['10.77.0.1'], reservations: [{ mac: 'AA-BB-CC-DD-EE-FF', ip: '10.77.0.5' }] };
    const copy = structuredClone({ ...o, planFor: undefined });
    const r = resolveOptions(o, iface);
    expect(r.reservations.get('aa:bb:cc:dd:ee:ff')).toBe(0x0a4d0005);
    expect({ ...o, planFor: undefined }).toEqual(copy);
  });

  it.each<[string, Partial<DhcpServerOptions>, RegExp]>([
    ['a server without a range', { range: undefined }, /range is required/],
    [
      'a range outside the subnet',
      { range: { start: '10.78.0.1', end: '10.78.0.9' } },
      /outside 10\.77\.0\.1\/255\.255\.255\.0 of br0/,
    ],
    ['a reversed range', { range: { start: '10.77.0.9', end: '10.77.0.1' } }, /after range\.end/],
    ['a proxy with a pool', { mode: 'proxy' }, /proxy mode gives no addresses/],
    [
      'a reservation given twice',
      {
        reservations: [
          { mac: 'aa:bb:cc:dd:ee:01', ip: '10.77.0.5' },
          { mac: 'aa:bb:cc:dd:ee:02', ip: '10.77.0.5' },
        ],
      },
      /two MACs/,
    ],
    ['a bad MAC', { reservations: [{ mac: 'aa:bb', ip: '10.77.0.5' }] }, /not a MAC/],
    ['a lease time of 0', { leaseTime: 0 }, /leaseTime/],
    ['a port out of range', { port: 70000 }, /not a port/],
    ['a bad broadcast mode', { broadcast: 'all' as 'subnet' }, /broadcast/],
  ])('rejects %s with PXE_BAD_OPTION', (_, patch, message) => {
    expect(() => resolveOptions({ ...ok, ...patch }, iface)).toThrow(
      expect.objectContaining({ code: 'PXE_BAD_OPTION', message: expect.stringMatching(message) }),
    );
  });
});
