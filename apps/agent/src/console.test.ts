import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Console } from './console.js';

function harness() {
  const input = new PassThrough();
  const output = new PassThrough();
  let written = '';
  output.on('data', (d: Buffer) => (written += d.toString()));
  const con = new Console({ input, output });
  return { con, input, text: () => written };
}

describe('Console', () => {
  it('redraws the status line only when it changes', () => {
    const { con, text } = harness();
    con.status('50%');
    con.status('50%');
    con.status('51%');
    con.line('done');
    con.status('51%');
    expect(text()).toBe('\r\x1b[K50%\r\x1b[K51%done\r\n\r\x1b[K51%');
  });

  it('queues keys pressed while nobody waits and times out when none come', async () => {
    const { con, input } = harness();
    con.acquire();
    input.write('\x1b[Bx');
    await new Promise((r) => setImmediate(r));
    expect(await con.nextKey(10)).toBe('down');
    expect(await con.nextKey(10)).toBe('other');
    expect(await con.nextKey(10)).toBeNull();
    const pending = con.nextKey(1000);
    input.write('\r');
    expect(await pending).toBe('enter');
    con.release();
    input.write('s');
    await new Promise((r) => setImmediate(r));
    expect(await con.nextKey(10)).toBeNull();
  });

  it('writes to every terminal, takes keys from any, and hands over the one the last key came from', async () => {
    const screen = { input: new PassThrough(), output: new PassThrough(), name: '/dev/tty1' };
    const serial = { input: new PassThrough(), output: new PassThrough(), name: '/dev/ttyS0' };
    const seen = { screen: '', serial: '' };
    screen.output.on('data', (d: Buffer) => (seen.screen += d.toString()));
    serial.output.on('data', (d: Buffer) => (seen.serial += d.toString()));
    const con = new Console([serial, screen]);
    expect(con.chosen.name).toBe('/dev/ttyS0');
    con.acquire();
    con.line('menu');
    screen.input.write('\x1b[B');
    expect(await con.nextKey(1000)).toBe('down');
    serial.input.write('k');
    expect(await con.nextKey(1000)).toBe('up');
    screen.input.write('\r');
    expect(await con.nextKey(1000)).toBe('enter');
    expect(seen).toEqual({ screen: 'menu\r\n', serial: 'menu\r\n' });
    expect(con.release().name).toBe('/dev/tty1');
    serial.input.write('s');
    screen.input.write('s');
    await new Promise((r) => setImmediate(r));
    expect(await con.nextKey(10)).toBeNull();
  });
});
