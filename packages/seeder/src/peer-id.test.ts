import { describe, expect, it } from 'vitest';
import { isBootTorrentPeerId, isServerPeerId, PEER_ID_PREFIX, takesWholePieces } from './peer-id.js';

/** A 20-byte peer id with `prefix`, as webtorrent keeps it: hex. */
const id = (prefix: string, upper = false): string => {
  const hex = Buffer.concat([Buffer.from(prefix, 'latin1'), Buffer.alloc(20 - prefix.length, 7)]).toString(
    'hex',
  );
  return upper ? hex.toUpperCase() : hex;
};

describe('peer ids', () => {
  it('tells this version, the previous one and other clients apart', () => {
    const cases: [string, boolean, boolean, boolean][] = [
      // prefix, BootTorrent, server, takes whole pieces
      [PEER_ID_PREFIX.server, true, true, true],
      [PEER_ID_PREFIX.agent, true, false, true],
      ['-BS0100-', true, true, false],
      ['-BA0100-', true, false, false],
      ['-WW0208-', false, false, false], // webtorrent
      ['A2-1-37-0-', false, false, false], // aria2c
      ['-BS0111-', false, false, false],
    ];
    for (const [prefix, ours, server, whole] of cases) {
      for (const hex of [id(prefix), id(prefix, true)])
        expect([prefix, isBootTorrentPeerId(hex), isServerPeerId(hex), takesWholePieces(hex)]).toEqual([
          prefix,
          ours,
          server,
          whole,
        ]);
    }
  });
  it('answers no for a missing or short peer id', () => {
    for (const hex of [undefined, '', '2d4253', '2d425330313130'])
      expect([isBootTorrentPeerId(hex), isServerPeerId(hex), takesWholePieces(hex)]).toEqual([
        false,
        false,
        false,
      ]);
  });
});
