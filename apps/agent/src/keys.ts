/** A key press as the menu sees it. */
export type Key = 'up' | 'down' | 'enter' | 'shell' | 'other';

/**
 * Decodes raw terminal input into keys. Arrows arrive as ESC [ A / ESC O A (VT100 cursor and
 * application modes, both seen on serial consoles); Enter as CR (raw mode) or LF; `s` opens a shell.
 */
export function decodeKeys(chunk: string): Key[] {
  const keys: Key[] = [];
  for (let i = 0; i < chunk.length; i++) {
    const c = chunk[i]!;
    if (c === '\x1b' && (chunk[i + 1] === '[' || chunk[i + 1] === 'O') && i + 2 < chunk.length) {
      const code = chunk[i + 2];
      keys.push(code === 'A' ? 'up' : code === 'B' ? 'down' : 'other');
      i += 2;
    } else if (c === '\r' || c === '\n') {
      keys.push('enter');
      if (c === '\r' && chunk[i + 1] === '\n') i++;
    } else if (c === 's' || c === 'S') {
      keys.push('shell');
    } else if (c === 'k') {
      keys.push('up');
    } else if (c === 'j') {
      keys.push('down');
    } else {
      keys.push('other');
    }
  }
  return keys;
}
