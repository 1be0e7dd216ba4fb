import { describe, expect, it } from 'vitest';
import { datagramCost, negotiate } from './options.js';

const limits = { maxBlockSize: 65464, maxWindowSize: 64, windowBufferBytes: 1 << 24, size: 1234 };
const ask = (o: Record<string, string>, l = limits) => negotiate(new Map(Object.entries(o)), l);

describe('option negotiation', () => {
  it('grants blksize, timeout, tsize and windowsize in request order', () => {
    const n = ask({ tsize: '0', blksize: '1468', windowsize: '16', timeout: '3' });
    expect(n).toEqual({
      blksize: 1468,
      windowsize: 16,
      timeoutMs: 3000,
      tsize: 1234,
      oack: [
        ['tsize', '1234'],
        ['blksize', '1468'],
        ['windowsize', '16'],
        ['timeout', '3'],
      ],
    });
  });

  it('sends no OACK when nothing was asked (plain RFC 1350)', () => {
    expect(ask({})).toMatchObject({ blksize: 512, windowsize: 1, oack: [] });
  });

  it('clamps blksize and windowsize to the server maximum', () => {
    const n = ask({ blksize: '65464', windowsize: '65535' }, { ...limits, maxBlockSize: 1468 });
    expect(n.oack).toEqual([
      ['blksize', '1468'],
      ['windowsize', '64'],
    ]);
  });

  it('grants only the window that fits a default client socket buffer, whatever the option order', () => {
    const l = { ...limits, windowBufferBytes: 212_992 };
    expect(ask({ windowsize: '16', blksize: '8192' }, l).oack).toEqual([
      ['windowsize', '12'], // 12 × 16640 ≤ 212992 < 13 × 16640
      ['blksize', '8192'],
    ]);
    expect(ask({ blksize: '65464', windowsize: '16' }, l).windowsize).toBe(3); // 3 × 66300
    expect(ask({ blksize: '1468', windowsize: '64' }, l).windowsize).toBe(64); // 92 would fit
    expect(ask({ windowsize: '16' }, l).windowsize).toBe(16);
    expect(ask({ blksize: '65464', windowsize: '16' }, { ...l, windowBufferBytes: 1000 }).windowsize).toBe(1);
  });

  it('counts each datagram at the receive-buffer cost Linux charges (measured on loopback)', () => {
    // /proc/net/udp rx_queue after one datagram of blksize + 4 bytes, Linux 6.18, IPv4 loopback
    const measured: [number, number][] = [
      [8, 832],
      [512, 1280],
      [1468, 2304],
      [2048, 4352],
      [4096, 8448],
      [8192, 16640],
      [16000, 16640],
      [16384, 17220],
      [32768, 33604],
      [65464, 66300],
    ];
    for (const [blksize, cost] of measured) expect(datagramCost(blksize), `blksize ${blksize}`).toBe(cost);
  });

  it('answers tsize whatever value the client sent', () => {
    expect(ask({ tsize: 'garbage' }).oack).toEqual([['tsize', '1234']]);
  });

  it.each([
    ['blksize below 8', { blksize: '7' }],
    ['blksize zero', { blksize: '0' }],
    ['negative blksize', { blksize: '-1' }],
    ['hex blksize', { blksize: '0x200' }],
    ['blksize with spaces', { blksize: ' 512' }],
    ['huge blksize', { blksize: '99999999999' }],
    ['timeout 0 (atftpd CVE-2019-11365 shape)', { timeout: '0' }],
    ['timeout 256', { timeout: '256' }],
    ['windowsize 0', { windowsize: '0' }],
    ['windowsize 65536', { windowsize: '65536' }],
    ['utimeout (tftpd-hpa CVE-2011-2199)', { utimeout: '1' }],
    ['multicast', { multicast: '' }],
  ])('leaves out an out-of-range or unknown option: %s', (_name, o) => {
    const n = ask(o);
    expect(n.oack).toEqual([]);
    expect(n).toMatchObject({ blksize: 512, windowsize: 1, timeoutMs: undefined });
  });

  it('answers a blksize above 65464 with the maximum', () => {
    expect(ask({ blksize: '70000' }).blksize).toBe(65464);
  });
});
