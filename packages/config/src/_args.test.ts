import { describe, expect, it } from 'vitest';
import { splitArgs } from './_args.js';

describe('splitArgs', () => {
  it('splits on whitespace and keeps quoted words whole', () => {
    expect(splitArgs(`-m 512  -append "console=ttyS0 quiet" -name 'a b'`)).toEqual([
      '-m',
      '512',
      '-append',
      'console=ttyS0 quiet',
      '-name',
      'a b',
    ]);
  });
  it('keeps an empty quoted argument and backslash escapes', () => {
    expect(splitArgs(`a "" b\\ c`)).toEqual(['a', '', 'b c']);
  });
  it('returns null for an unclosed quote', () => {
    expect(splitArgs(`-append "console=ttyS0`)).toBeNull();
  });
});
