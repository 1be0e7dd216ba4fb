import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultSearchRoots, findHostParts } from '@boottorrent/initrd-builder';
import { findTool, runCommand, startVm, type Vm } from '@boottorrent/testing/lab';
import { afterAll, describe, expect, it } from 'vitest';
import { directBootImage } from './boot-image.js';
import { makeWorld, type OsSpec, type World } from './world.js';

// A person at the PC: the menu on the VGA screen (read back with OCR), keys on its PS/2 keyboard.
// Phase-1's command line names only console=ttyS0, so /dev/console is the serial port; the screen is
// tty1, which the agent must find and use by itself.

const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
let dir: string | undefined;
let world: World | undefined;
let vm: Vm | undefined;
afterAll(async () => {
  await vm?.stop();
  await world?.close();
  // BT_KEEP_SCREENS=1 keeps the screendumps (PPM + PNG) for a look.
  if (dir && !process.env.BT_KEEP_SCREENS) await rm(dir, { recursive: true, force: true });
});

/** A bin OS that names the terminal it was handed, on the serial port (the test's only eyes there). */
const binOs = (name: string, dispname: string, marker: string): OsSpec => ({
  name,
  dispname,
  method: 'bin',
  files: { 'run.sh': `#!/bin/sh\necho "${marker} on $(tty)" > /dev/ttyS0\n` },
  bin: { bin: 'run.sh', args: [] },
});

/** QEMU key names for the characters the test types (US layout). */
const KEY: Record<string, string> = {
  ' ': 'spc',
  '/': 'slash',
  '-': 'minus',
  '.': 'dot',
  '>': 'shift-dot',
  $: 'shift-4',
  '?': 'shift-slash',
  '(': 'shift-9',
  ')': 'shift-0',
  '\n': 'ret',
};
/** Types `text` on the VM's keyboard, one key at a time. */
async function type(text: string): Promise<void> {
  for (const c of text) {
    const key = KEY[c] ?? (/[A-Z]/.test(c) ? `shift-${c.toLowerCase()}` : c);
    await vm!.sendKey(key);
  }
}

let shots = 0;
/** Photographs the VM's screen and reads it: PPM from QEMU, scaled ×2 to PNG (netpbm), tesseract. */
async function readScreen(): Promise<{ text: string; png: string }> {
  const tools = {
    pnmscale: findTool('pnmscale', { debianPackage: 'netpbm' }),
    pnmtopng: findTool('pnmtopng', { debianPackage: 'netpbm' }),
    tesseract: findTool('tesseract', { debianPackage: 'tesseract-ocr' }),
  };
  const ppm = join(dir!, `screen-${++shots}.ppm`);
  const png = ppm.replace(/ppm$/, 'png');
  await vm!.screendump(ppm);
  await runCommand('sh', ['-c', `"$0" 2 "$2" | "$1" > "$3"`, tools.pnmscale, tools.pnmtopng, ppm, png]);
  const text = await runCommand(tools.tesseract, [png, 'stdout'], { timeoutMs: 120_000 });
  return { text, png };
}

/** Reads the screen until `re` matches its text (the VGA redraw and OCR are not instant). */
async function screenShows(re: RegExp, tries = 10): Promise<string> {
  let last = '';
  for (let i = 0; i < tries; i++) {
    last = (await readScreen()).text;
    if (re.test(last)) return last;
    await new Promise((r) => setTimeout(r, 2000));
  }
  throw new Error(`the screen never showed ${re}; OCR read:\n${last}`);
}

describe('agent menu on the VGA screen of a QEMU VM (TCG, direct boot, user-mode network)', () => {
  it('shows the menu on tty1 besides the serial port, takes keys from the keyboard and runs the chosen OS on the screen', async () => {
    dir = await mkdtemp(join(tmpdir(), 'bt-screen-'));
    const parts = await findHostParts({ searchRoots: await defaultSearchRoots(REPO) });
    world = await makeWorld({
      host: '127.0.0.1',
      reach: '10.0.2.2',
      manifest: { timeout: -1 },
      oss: [binOs('alpha', 'Alpha Linux', 'ALPHA-RAN'), binOs('beta', 'Beta System', 'BETA-RAN')],
    });
    const image = await directBootImage(dir, world, parts);

    vm = await startVm({
      name: 'screen',
      kernel: image.kernel,
      initrd: image.initrd,
      append: 'console=ttyS0 quiet panic=-1',
      memoryMb: 1024,
      nic: {},
      screen: true,
      workDir: dir,
      consoleFile: join(dir, 'serial.log'),
    });
    // The serial port still gets the menu (it is /dev/console) ...
    await vm.waitFor(/> Alpha Linux[^]*Beta System[^]*Up\/Down to choose/, 600_000);
    // ... and so does the screen, which nothing but the agent writes to.
    const menu = await screenShows(/Alpha Linux[^]*Beta System/);
    expect(menu).toMatch(/choose the system to boot/);

    // Down on the PC's keyboard: the highlight moves on both screens.
    const from = vm.output().length;
    await vm.sendKey('down');
    await vm.waitFor(/> Beta System/, 120_000, { from });
    await vm.sendKey('ret');
    // The OS runs on the terminal the key came from: tty1, not the serial console.
    await vm.waitFor(/BETA-RAN on \/dev\/tty1/, 300_000, { from });
    const booted = await world.waitPost((p) => p.body.os === 'beta' && p.body.phase === 'booted');
    expect(booted.body.os).toBe('beta');
    await vm.waitFor(/Beta System exited with code 0[^]*Up\/Down to choose/, 120_000, { from });
    // The agent reopened tty1 after the OS's session hung it up: the menu is back on the screen.
    await screenShows(/Beta System exited with code 0/);

    // s on the keyboard: a shell on the screen, whose controlling terminal is tty1, so Ctrl+C typed
    // there interrupts a command (130 = killed by SIGINT; without it the sleep would run its 1000 s).
    const shellFrom = vm.output().length;
    await vm.sendKey('s');
    await vm.waitFor(/Exit the shell to come back to the menu \(it runs on \/dev\/tty1\)/, 120_000, {
      from: shellFrom,
    });
    await screenShows(/Exit the shell/);
    await type('sleep 1000\n');
    // A Ctrl+C that lands before the shell has made sleep the foreground job is lost (and the line
    // typed after it flushed): press it again until the shell reports how sleep ended.
    let said: RegExpMatchArray | undefined;
    for (let i = 0; i < 5 && !said; i++) {
      const at = vm.output().length;
      await vm.sendKey('ctrl-c');
      await type('echo INTR-$? SHELL-ON-$(tty) > /dev/ttyS0\n');
      said = await vm.waitFor(/INTR-(\d+) SHELL-ON-(\S+)/, 30_000, { from: at }).catch(() => undefined);
    }
    expect(said?.slice(1)).toEqual(['130', '/dev/tty1']);
    const exitFrom = vm.output().length;
    await type('exit\n');
    await vm.waitFor(/Up\/Down to choose/, 120_000, { from: exitFrom });
    expect(vm.output()).not.toMatch(/ALPHA-RAN|crashed/);
  }, 1_200_000);
});
