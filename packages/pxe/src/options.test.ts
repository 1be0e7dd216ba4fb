import { describe, expect, it } from 'vitest';
import { MalformedPacket } from './errors.js';
import { getClientArch, getClientUuid, getUserClasses, getVendorOptions } from './options.js';

const o = (code: number, bytes: number[]) => new Map([[code, Uint8Array.from(bytes)]]);

describe('typed option accessors', () => {
  it('reads a plain user class (iPXE) and RFC 3004 framed classes', () => {
    expect(getUserClasses(o(77, [...Buffer.from('iPXE')]))).toEqual(['iPXE']);
    expect(getUserClasses(o(77, [4, ...Buffer.from('iPXE'), 3, ...Buffer.from('lab')]))).toEqual([
      'iPXE',
      'lab',
    ]);
  });

  it('reads every architecture in option 93 and rejects odd lengths', () => {
    expect(getClientArch(o(93, [0, 7, 0, 9]))).toEqual([7, 9]);
    expect(() => getClientArch(o(93, [0]))).toThrow(MalformedPacket);
  });

  it('formats the option 97 GUID and rejects a wrong type byte', () => {
    expect(getClientUuid(o(97, [0, ...Array.from({ length: 16 }, (_, i) => i)]))).toBe(
      '00010203-0405-0607-0809-0a0b0c0d0e0f',
    );
    expect(() => getClientUuid(o(97, [1, ...new Array(16).fill(0)]))).toThrow(MalformedPacket);
  });

  it('decodes PXE vendor sub-options in option 43', () => {
    expect(getVendorOptions(o(43, [6, 1, 8, 255]))?.get(6)).toEqual(Uint8Array.of(8));
  });
});
