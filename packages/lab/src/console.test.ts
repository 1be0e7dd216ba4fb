import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsoleCapture } from './console.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bt-lab-console-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const capture = (file?: string) => new ConsoleCapture('vm7', file, () => ': QEMU exited (1)');

describe('ConsoleCapture', () => {
  it('resolves with a match that is already there, and with one that comes later', async () => {
    const c = capture();
    c.append('SeaBIOS (version 1.16.2)\r\n');
    expect((await c.waitFor(/version ([\d.]+)/, 1000))[1]).toBe('1.16.2');
    const later = c.waitFor(/login: (\w+)\n/, 5000);
    c.append('lo');
    c.append('gin: ro');
    c.append('ot\n');
    expect((await later)[1]).toBe('root');
  });

  it('matches a pattern split across chunks and across lines', async () => {
    const c = capture();
    const both = c.waitFor(/AGENT-OK[^]*AGENT-OK/, 5000);
    c.append('AGENT-');
    c.append('OK one\r\n... AGENT-OK two');
    expect((await both)[0]).toBe('AGENT-OK one\r\n... AGENT-OK');
  });

  it('searches from an offset only', async () => {
    const c = capture();
    c.append('menu: error\n');
    const from = c.output().length;
    const next = c.waitFor(/error/, 5000, from);
    c.append('menu: ok\n');
    c.append('second error\n');
    expect((await next).index).toBe('menu: ok\nsecond '.length);
  });

  it('is not confused by a global pattern used twice', async () => {
    const c = capture();
    c.append('x marker x');
    const re = /marker/g;
    await c.waitFor(re, 1000);
    await expect(c.waitFor(re, 1000)).resolves.toBeTruthy();
  });

  it('rejects with LAB_TIMEOUT quoting what the console printed', async () => {
    const c = capture();
    c.append('Booting from ROM...\n');
    await expect(c.waitFor(/never/, 20)).rejects.toMatchObject({
      name: 'LabError',
      code: 'LAB_TIMEOUT',
      message: expect.stringMatching(
        /^vm7: no \/never\/ on the console in 20 ms; it printed:\nBooting from ROM/,
      ),
    });
  });

  it('rejects pending and later waits with LAB_EXITED once the output has ended', async () => {
    const c = capture();
    const pending = c.waitFor(/never/, 60_000);
    c.append('Kernel panic - not syncing\n');
    await c.end();
    await expect(pending).rejects.toMatchObject({
      code: 'LAB_EXITED',
      message: expect.stringContaining('vm7: QEMU exited (1) before /never/'),
    });
    await expect(c.waitFor(/never/, 60_000)).rejects.toMatchObject({ code: 'LAB_EXITED' });
    await expect(c.waitFor(/panic/, 60_000)).resolves.toBeTruthy();
  });

  it('copies the console to a file, replacing what an earlier run left there', async () => {
    const file = join(dir, 'vm0.serial.log');
    await writeFile(file, 'BOOTTORRENT-TARGET-OK from an earlier run\n');
    const c = capture(file);
    c.append('iPXE 1.0.0\r\n');
    c.append('net0: 52:54:00:77:00:10\r\n');
    await c.end();
    expect(await readFile(file, 'latin1')).toBe(c.output());
    expect(c.output()).not.toContain('earlier run');
  });
});
