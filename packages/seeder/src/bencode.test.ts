import { describe, expect, it } from 'vitest';
import { bencode } from './bencode.js';

const text = (b: Uint8Array): string => Buffer.from(b).toString('latin1');

describe('bencode (BEP 3)', () => {
  it('encodes integers, byte strings and lists', () => {
    expect(text(bencode(42))).toBe('i42e');
    expect(text(bencode(-3))).toBe('i-3e');
    expect(text(bencode('spam'))).toBe('4:spam');
    expect(text(bencode(new Uint8Array([0, 255])))).toBe('2:\x00\xff');
    expect(text(bencode(['a', 1, []]))).toBe('l1:ai1elee');
  });

  it('counts UTF-8 bytes, not characters, in string lengths', () => {
    expect(text(bencode('é'))).toBe('2:\xc3\xa9');
  });

  it('sorts dictionary keys as raw byte strings and drops undefined values', () => {
    // "piece length" < "pieces" bytewise (space 0x20 < 's' 0x73); uppercase sorts before lowercase
    const out = text(bencode({ pieces: 'x', 'piece length': 1, Z: 0, a: undefined }));
    expect(out).toBe('d1:Zi0e12:piece lengthi1e6:pieces1:xe');
  });

  it('refuses non-integers', () => {
    expect(() => bencode(1.5)).toThrow(RangeError);
  });
});
