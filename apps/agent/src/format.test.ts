import { describe, expect, it } from 'vitest';
import { formatBytes, oneLine } from './format.js';

describe('oneLine', () => {
  it('joins a multi-line tool complaint into one console line', () => {
    expect(oneLine('Cannot determine the file type of /run/x/vmlinuz\n')).toBe(
      'Cannot determine the file type of /run/x/vmlinuz',
    );
    expect(oneLine('kexec_load failed: Invalid argument\r\n\r\n  entry = 0x1000\n')).toBe(
      'kexec_load failed: Invalid argument; entry = 0x1000',
    );
  });

  it('drops control characters a tool could use to move the cursor over the menu', () => {
    expect(oneLine('bad\x1b[2J\x07 kernel')).toBe('bad[2J kernel');
  });
});

describe('formatBytes', () => {
  it('prints whole bytes below 1 KiB, even for a computed rate', () => {
    expect(formatBytes(765 / 7)).toBe('109 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
  });
});
