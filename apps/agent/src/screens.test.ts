import { describe, expect, it } from 'vitest';
import { screenNames } from './screens.js';

describe('screenNames', () => {
  it('puts the kernel console (the last one listed) first, then the screen and the serial port', () => {
    expect(screenNames('tty0 ttyS0\n')).toEqual(['/dev/ttyS0', '/dev/tty1']);
    expect(screenNames('ttyS0 tty0\n')).toEqual(['/dev/tty1', '/dev/ttyS0']);
  });

  it('adds tty1 and ttyS0 when the kernel lists only one console, or none', () => {
    expect(screenNames('ttyS0\n')).toEqual(['/dev/ttyS0', '/dev/tty1']);
    expect(screenNames('')).toEqual(['/dev/tty1', '/dev/ttyS0']);
  });

  it('keeps other serial consoles the kernel lists', () => {
    expect(screenNames('ttyS1 tty0\n')).toEqual(['/dev/tty1', '/dev/ttyS1', '/dev/ttyS0']);
  });
});
