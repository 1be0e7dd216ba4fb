import { randomBytes, randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTracker, type Tracker } from '../../src/index.js';
import { httpAnnounce, newPeerId, UDP_PROTOCOL_ID, UdpAction, UdpClient } from './_client.js';

// Bounded fuzz: a fixed number of malformed requests of each kind, then the tracker must still serve.
const HTTP_CASES = 150;
const UDP_CASES = 600;
const HASH = randomBytes(20).toString('hex');

describe('tracker under malformed announces and scrapes', () => {
  let t: Tracker;
  let warnings = 0;
  beforeAll(async () => {
    t = await startTracker({ host: '127.0.0.1', port: 0 });
    t.on('warning', () => warnings++);
  });
  afterAll(() => t.close());

  it(`stays alive and correct after ${HTTP_CASES} garbage HTTP requests`, async () => {
    const queries = [
      () => `/announce?${randomBytes(randomInt(0, 60)).toString('latin1')}`,
      () =>
        `/announce?info_hash=${randomBytes(randomInt(0, 30)).toString('hex')}&port=${randomInt(-5, 70000)}`,
      () => `/announce?info_hash=%zz&peer_id=${'%00'.repeat(randomInt(0, 25))}&port=abc&left=-1`,
      () => `/scrape?info_hash=${'%ff'.repeat(randomInt(0, 45))}`,
      () => `/${randomBytes(8).toString('hex')}`,
    ];
    const raw = (payload: Buffer): Promise<void> =>
      new Promise((resolve) => {
        const s = connect(t.httpPort!, '127.0.0.1', () => s.end(payload));
        s.on('error', () => resolve());
        s.on('close', () => resolve());
        s.setTimeout(2000, () => s.destroy());
        s.resume();
      });
    for (let i = 0; i < HTTP_CASES; i++) {
      if (i % 3 === 0) await raw(randomBytes(randomInt(1, 400)));
      else
        await fetch(
          `http://127.0.0.1:${t.httpPort}${queries[i % queries.length]!().replace(/[\s#]/g, '')}`,
        ).then(
          (r) => r.arrayBuffer(),
          () => undefined,
        );
    }
    const ok = await httpAnnounce(`http://127.0.0.1:${t.httpPort}`, {
      infoHash: HASH,
      peerId: newPeerId(),
      port: 6000,
      left: 1,
      event: 'started',
    });
    expect(ok['failure reason']).toBeUndefined();
    expect(warnings).toBeGreaterThan(0);
  });

  it(`stays alive and correct after ${UDP_CASES} random, truncated and wrong-connection-id datagrams`, async () => {
    const sock = createSocket('udp4');
    const valid = Buffer.alloc(98);
    valid.writeBigUInt64BE(UDP_PROTOCOL_ID, 0);
    valid.writeUInt32BE(UdpAction.Announce, 8);
    const cases = [
      () => randomBytes(randomInt(0, 200)),
      () => valid.subarray(0, randomInt(0, 98)), // truncated announce
      () => Buffer.concat([randomBytes(8), valid.subarray(8)]), // bad connection id
      () => {
        const b = Buffer.from(valid);
        b.writeUInt32BE(randomInt(0, 2 ** 32), 8); // unknown action
        return b;
      },
      () => {
        const b = Buffer.alloc(16);
        b.writeBigUInt64BE(UDP_PROTOCOL_ID, 0);
        b.writeUInt32BE(UdpAction.Scrape, 8);
        return b; // scrape with no hashes
      },
    ];
    for (let i = 0; i < UDP_CASES; i++) {
      sock.send(cases[i % cases.length]!(), t.udpPort!, '127.0.0.1');
      if (i % 50 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    await new Promise((r) => setTimeout(r, 200));
    sock.close();
    const udp = new UdpClient(t.udpPort!);
    try {
      const res = await udp.announce({
        infoHash: HASH,
        peerId: newPeerId(),
        port: 6001,
        left: 0,
        event: 'started',
      });
      expect(res.action).toBe(UdpAction.Announce);
      expect(res.peers).toEqual(['127.0.0.1:6000']);
    } finally {
      udp.close();
    }
  });
});
