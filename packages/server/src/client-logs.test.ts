import { describe, expect, it } from 'vitest';
import { ClientLogs, clean, MAX_LOG_CLIENTS, MAX_LOG_LINE_CHARS, MAX_LOG_LINES } from './client-logs.js';

const mac = (i: number) =>
  `52:54:00:00:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`;

describe('ClientLogs', () => {
  it(`keeps the last ${MAX_LOG_LINES} lines of a machine and counts what fell out`, () => {
    const logs = new ClientLogs(() => 7);
    const lines = Array.from({ length: MAX_LOG_LINES + 30 }, (_, i) => `line ${i}`);
    logs.append(mac(1), lines.slice(0, 100));
    logs.append(mac(1), lines.slice(100), 5);
    const tail = logs.tail(mac(1));
    expect(tail).toHaveLength(MAX_LOG_LINES);
    expect(tail[0]).toEqual({ t: 7, text: 'line 30' });
    expect(tail.at(-1)!.text).toBe(`line ${MAX_LOG_LINES + 29}`);
    expect(logs.dropped(mac(1))).toBe(30 + 5);
    expect(logs.tail(mac(1), 2).map((l) => l.text)).toEqual([
      `line ${MAX_LOG_LINES + 28}`,
      `line ${MAX_LOG_LINES + 29}`,
    ]);
  });

  it(`forgets the machine updated longest ago past ${MAX_LOG_CLIENTS} machines`, () => {
    const logs = new ClientLogs();
    for (let i = 0; i < MAX_LOG_CLIENTS; i++) logs.append(mac(i), ['x']);
    logs.append(mac(0), ['again']); // machine 0 is now the most recent
    logs.append(mac(MAX_LOG_CLIENTS), ['new']);
    expect(logs.has(mac(0))).toBe(true);
    expect(logs.has(mac(1))).toBe(false);
    expect(logs.has(mac(MAX_LOG_CLIENTS))).toBe(true);
  });

  it('drops escape sequences and control characters, and cuts long lines', () => {
    expect(clean('\x1b[H\x1b[2JBooting \x1b[1mDebian\x1b[0m\r\x07')).toBe('Booting Debian');
    expect(clean('a\u009bb\x00c')).toBe('abc');
    const long = clean('y'.repeat(MAX_LOG_LINE_CHARS * 3));
    expect(long).toHaveLength(MAX_LOG_LINE_CHARS);
    expect(long.endsWith('…')).toBe(true);
  });

  it('emits the lines as kept, for the dashboard stream', () => {
    const logs = new ClientLogs(() => 1);
    const seen: [string, string[]][] = [];
    logs.on('append', (m, l) => seen.push([m, l.map((x) => x.text)]));
    logs.append(mac(2), ['\x1b[31mred']);
    logs.append(mac(2), []);
    expect(seen).toEqual([[mac(2), ['red']]]);
  });
});
