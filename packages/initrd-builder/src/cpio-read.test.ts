import { buffer } from 'node:stream/consumers';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { compress } from './compress.js';
import { readInitrd } from './cpio-read.js';
import { writeCpio, type CpioEntry } from './cpio.js';

const file = (path: string, text: string): CpioEntry => ({ path, type: 'file', source: Buffer.from(text) });

describe('readInitrd', () => {
  it('reads gzip, zstd and uncompressed archives concatenated, as the kernel unpacks them', async () => {
    const a = await buffer(compress(writeCpio([file('a', 'from gzip')]), 'gzip'));
    const b = await buffer(compress(writeCpio([file('b', 'from zstd')]), 'zstd', { level: 3 }));
    const c = await buffer(writeCpio([file('c', 'plain')]));
    const recs = readInitrd(Buffer.concat([a, b, Buffer.alloc(8), c]));
    expect(recs.map((r) => [r.path, Buffer.from(r.data).toString()])).toEqual([
      ['a', 'from gzip'],
      ['b', 'from zstd'],
      ['c', 'plain'],
    ]);
  });

  it('rejects a segment it does not recognise and a corrupt gzip member', async () => {
    expect(() => readInitrd(Buffer.from('PK\x03\x04junk'))).toThrow(/unknown initrd segment magic 504b0304/);
    const gz = await buffer(compress(writeCpio([file('a', 'x')]), 'gzip'));
    gz[gz.length - 6]! ^= 0xff; // CRC32 of the member
    expect(() => readInitrd(gz)).toThrow(/CRC/);
  });
});

describe('compress', () => {
  it('round-trips with every kind and gives the same bytes twice (gzip header mtime 0)', async () => {
    const data = Buffer.from('boottorrent '.repeat(5000));
    for (const kind of ['gzip', 'zstd', 'none'] as const) {
      const one = await buffer(compress(Readable.from([data]), kind, kind === 'zstd' ? { level: 3 } : {}));
      const two = await buffer(compress(Readable.from([data]), kind, kind === 'zstd' ? { level: 3 } : {}));
      expect(one.equals(two)).toBe(true);
      if (kind !== 'none') expect(one.length).toBeLessThan(data.length / 10);
    }
    const gz = await buffer(compress(Readable.from([data]), 'gzip'));
    expect(gz.readUInt32LE(4)).toBe(0);
  });

  it('passes an error of the source stream on', async () => {
    const src = new Readable({
      read() {
        this.destroy(new Error('disk on fire'));
      },
    });
    await expect(buffer(compress(src, 'zstd'))).rejects.toThrow(/disk on fire/);
  });
});
