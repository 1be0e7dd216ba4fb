import { describe, expect, it } from 'vitest';
import { negotiate } from './options.js';

const limits = { maxBlockSize: 65464, maxWindowSize: 64, maxWindowBytes: 1 << 20, size: 1234 };
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

  it('caps the window in bytes whatever order blksize and windowsize come in', () => {
    const l = { ...limits, maxWindowBytes: 65536 };
    expect(ask({ windowsize: '16', blksize: '8192' }, l).oack).toEqual([
      ['windowsize', '8'],
      ['blksize', '8192'],
    ]);
    expect(ask({ blksize: '65464', windowsize: '16' }, l).windowsize).toBe(1);
    expect(ask({ windowsize: '16' }, l).windowsize).toBe(16); // 16 × 512 fits
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
