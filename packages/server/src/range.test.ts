import { describe, expect, it } from 'vitest';
import { parseRange } from './range.js';

describe('parseRange (RFC 9110 §14.1.2)', () => {
  const size = 1000;
  it('serves the whole file without a Range header', () => {
    expect(parseRange(undefined, size)).toBeNull();
  });
  it('reads a closed range and clamps its end to the file', () => {
    expect(parseRange('bytes=0-99', size)).toEqual({ start: 0, end: 99 });
    expect(parseRange('bytes=900-5000', size)).toEqual({ start: 900, end: 999 });
  });
  it('reads an open range to the end', () => {
    expect(parseRange('bytes=990-', size)).toEqual({ start: 990, end: 999 });
  });
  it('reads a suffix range as the last N bytes, the whole file when N exceeds it', () => {
    expect(parseRange('bytes=-10', size)).toEqual({ start: 990, end: 999 });
    expect(parseRange('bytes=-5000', size)).toEqual({ start: 0, end: 999 });
  });
  it('refuses a range that starts at or past the end', () => {
    expect(parseRange('bytes=1000-', size)).toBe('unsatisfiable');
    expect(parseRange('bytes=2000-3000', size)).toBe('unsatisfiable');
    expect(parseRange('bytes=-0', size)).toBe('unsatisfiable');
  });
  it('refuses malformed and reversed byte ranges', () => {
    for (const h of ['bytes=', 'bytes=-', 'bytes=a-b', 'bytes=5-1', 'bytes=1-2-3', 'bytes= -x'])
      expect(parseRange(h, size), h).toBe('unsatisfiable');
  });
  it('ignores other units and multiple ranges (serves the whole file)', () => {
    expect(parseRange('items=0-5', size)).toBeNull();
    expect(parseRange('bytes=0-1,5-6', size)).toBeNull();
    expect(parseRange('garbage', size)).toBeNull();
  });
});
