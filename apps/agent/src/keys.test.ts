import { describe, expect, it } from 'vitest';
import { decodeKeys } from './keys.js';
import { initialMenu, onKey, onTick, renderMenu } from './menu.js';

describe('decodeKeys', () => {
  it('decodes VT100 arrows in cursor and application mode, CR, CRLF and LF as one Enter each', () => {
    expect(decodeKeys('\x1b[A\x1b[B\x1bOA\x1bOB')).toEqual(['up', 'down', 'up', 'down']);
    expect(decodeKeys('\r\n\n\r')).toEqual(['enter', 'enter', 'enter']);
    expect(decodeKeys('sSjkx\x1b[C')).toEqual(['shell', 'shell', 'down', 'up', 'other', 'other']);
  });
});

describe('menu', () => {
  it('follows the original timeout semantics: 0 boots at once, negative waits, positive counts down', () => {
    expect(initialMenu(3, 1, 0)).toEqual({ index: 1, remaining: 0 });
    expect(initialMenu(3, 1, -1)).toEqual({ index: 1, remaining: null });
    expect(initialMenu(3, 7, 5)).toEqual({ index: 2, remaining: 5 });
  });

  it('boots the highlighted entry when the countdown reaches zero', () => {
    let [s, out] = onTick({ index: 1, remaining: 2 });
    expect(out).toBeNull();
    [s, out] = onTick(s);
    expect(s.remaining).toBe(0);
    expect(out).toEqual({ boot: 1 });
  });

  it('stops the countdown on any key and wraps around with the arrows', () => {
    const [s1, o1] = onKey({ index: 0, remaining: 4 }, 'other', 3);
    expect(s1).toEqual({ index: 0, remaining: null });
    expect(o1).toBeNull();
    expect(onTick(s1)).toEqual([s1, null]);
    expect(onKey(s1, 'up', 3)[0].index).toBe(2);
    expect(onKey({ index: 2, remaining: null }, 'down', 3)[0].index).toBe(0);
    expect(onKey(s1, 'enter', 3)[1]).toEqual({ boot: 0 });
    expect(onKey(s1, 'shell', 3)[1]).toEqual({ shell: true });
  });

  it('renders the highlighted entry in reverse video and the countdown line', () => {
    const text = renderMenu({ index: 1, remaining: 3 }, ['Debian', 'Memtest'], 'a notice');
    expect(text).toContain('    Debian\r\n');
    expect(text).toContain('\x1b[7m> Memtest \x1b[0m');
    expect(text).toContain('a notice');
    expect(text).toContain('Booting Memtest in 3 s');
    expect(renderMenu({ index: 0, remaining: null }, ['Debian'])).toContain('Up/Down to choose');
  });
});
