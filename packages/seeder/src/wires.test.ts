import { describe, expect, it } from 'vitest';
import { PEER_ID_PREFIX } from './peer-id.js';
import { connectedMachine } from './wires.js';

const id = (prefix: string): string =>
  Buffer.concat([Buffer.from(prefix, 'latin1'), Buffer.alloc(12, 7)]).toString('hex');
const agent = id(PEER_ID_PREFIX.agent);
const wire = (remoteAddress: string, peerId: string | undefined, extra = {}) => ({
  destroyed: false,
  type: 'tcpIncoming',
  remoteAddress,
  peerId,
  ...extra,
});

describe('connectedMachine (no second dial to a connected machine)', () => {
  const self = new Set(['10.0.0.5']);

  it('is true for an address whose machine is connected with a BootTorrent peer id, from any port', () => {
    expect(connectedMachine('10.0.0.7:6881', [wire('10.0.0.7', agent)], self)).toBe(true);
    expect(connectedMachine('10.0.0.7:6881', [wire('::ffff:10.0.0.7', agent)], self)).toBe(true);
    expect(connectedMachine('10.0.0.1:6881', [wire('10.0.0.1', id(PEER_ID_PREFIX.server))], self)).toBe(true);
  });

  it('is false for another machine, a closed wire, a web seed or another client', () => {
    expect(connectedMachine('10.0.0.8:6881', [wire('10.0.0.7', agent)], self)).toBe(false);
    expect(connectedMachine('10.0.0.7:6881', [wire('10.0.0.7', agent, { destroyed: true })], self)).toBe(
      false,
    );
    expect(connectedMachine('10.0.0.7:6881', [wire('10.0.0.7', agent, { type: 'webSeed' })], self)).toBe(
      false,
    );
    expect(connectedMachine('10.0.0.7:6881', [wire('10.0.0.7', id('-aria2-'))], self)).toBe(false);
    expect(connectedMachine('10.0.0.7:6881', [wire('10.0.0.7', undefined)], self)).toBe(false);
  });

  it('leaves loopback and this machine out: several peers share those addresses', () => {
    expect(connectedMachine('127.0.0.1:6882', [wire('127.0.0.1', agent)], self)).toBe(false);
    expect(connectedMachine('[::1]:6882', [wire('::1', agent)], self)).toBe(false);
    expect(connectedMachine('10.0.0.5:6882', [wire('10.0.0.5', agent)], self)).toBe(false);
  });
});
