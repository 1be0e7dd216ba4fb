import { EventEmitter } from 'node:events';
import Protocol from 'bittorrent-protocol';
import type { Torrent } from 'webtorrent';
import { describe, expect, it } from 'vitest';
import { PEER_ID_PREFIX } from './peer-id.js';
import { connectedMachine, LAN_MIN_PIPELINE_SPEED, measuredSpeed, WireTracker } from './wires.js';

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

describe("measuredSpeed (a wire's own rate, under the LAN floor)", () => {
  it("is unknown in the wire's first second, then its meter without the floor", () => {
    const torrent = Object.assign(new EventEmitter(), {
      wires: [],
      addPeer: () => true,
      _addPeer: () => null,
    });
    new WireTracker(torrent as unknown as Torrent, { lanTuning: true, selfPort: () => 6881 });
    // bittorrent-protocol meters each block received with `downloadSpeed(bytes)` (not in its typings)
    const wire = new Protocol() as Protocol & { downloadSpeed(delta?: number): number };
    const since = performance.now();
    torrent.emit('wire', wire);
    wire.downloadSpeed(100_000); // bittorrent-protocol feeds its meter per block received
    expect(measuredSpeed(wire, since + 500)).toBeUndefined();
    const rate = measuredSpeed(wire, since + 1_500);
    expect(rate).toBeGreaterThan(0);
    expect(rate).toBeLessThan(LAN_MIN_PIPELINE_SPEED);
    // webtorrent's pipeline sizing still sees the floor
    expect(wire.downloadSpeed()).toBe(LAN_MIN_PIPELINE_SPEED);
    expect(measuredSpeed(new Protocol(), since + 1_500)).toBeUndefined(); // not tracked
  });
});
