import { closeSync, constants, openSync, readFileSync } from 'node:fs';
import { isatty, ReadStream, WriteStream } from 'node:tty';
import type { Terminal } from './console.js';

/** Where Linux lists its consoles; the last one is what /dev/console is. */
export const CONSOLE_ACTIVE = '/sys/class/tty/console/active';

/**
 * The terminals a person may sit at, preferred first: the kernel's consoles from
 * /sys/class/tty/console/active, the last (the one /dev/console and today's output go to) first, then
 * the screen's first virtual terminal and the first serial port. Phase-1's command line names only
 * `console=ttyS0` on a direct boot, yet the PC's monitor shows tty1. `tty0` ("the current VT") is
 * listed as tty1, the VT phase-1 runs on.
 */
export function screenNames(active: string): string[] {
  const listed = active
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map((n) => (n === 'tty0' ? 'tty1' : n));
  return [...new Set([...listed.reverse(), 'tty1', 'ttyS0'])].map((n) => `/dev/${n}`);
}

const noop = () => {};

/**
 * One tty the agent opened itself (never as its controlling terminal): a reader and a writer of its
 * own. A child that took the tty as its controlling terminal hangs it up when it exits (Linux does
 * that to a session's terminal when its leader exits), so the agent reopens it afterwards.
 */
export class TtyScreen implements Terminal {
  input!: ReadStream;
  output!: WriteStream;

  constructor(readonly name: string) {
    this.open();
  }

  private open(): void {
    // O_NONBLOCK: a serial port without CLOCAL would block open() until carrier, freezing the agent.
    const flags = constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK;
    const rfd = openSync(this.name, flags);
    let wfd: number;
    try {
      if (!isatty(rfd)) throw new Error(`${this.name} is not a terminal`);
      wfd = openSync(this.name, flags);
    } catch (e) {
      closeSync(rfd);
      throw e;
    }
    this.input = new ReadStream(rfd);
    this.output = new WriteStream(wfd);
    // A port without a UART behind it or a hung-up tty fails writes: the other screens still work.
    this.input.on('error', noop);
    this.output.on('error', noop);
    this.input.pause();
  }

  reopen(): void {
    this.close();
    this.open();
  }

  close(): void {
    this.input.destroy();
    this.output.destroy();
  }
}

/**
 * Opens every screen of {@link screenNames} that exists and is a terminal (a /dev/ttyS0 with no UART
 * behind it fails to open and is left out). `active` defaults to reading {@link CONSOLE_ACTIVE}.
 */
export function openScreens(names: readonly string[] = screenNames(readActive())): TtyScreen[] {
  const screens: TtyScreen[] = [];
  for (const name of names) {
    try {
      screens.push(new TtyScreen(name));
    } catch {
      // absent or not a tty: not a screen here
    }
  }
  return screens;
}

function readActive(): string {
  try {
    return readFileSync(CONSOLE_ACTIVE, 'utf8');
  } catch {
    return '';
  }
}

/**
 * The agent's terminals from BT_CONSOLES: unset, every screen found ({@link openScreens}); `stdio`,
 * the agent's own stdin/stdout (the tests run it under a pseudo-terminal on the host, whose tty1 is
 * not ours); else a comma-separated list of devices. No screen at all falls back to stdin/stdout.
 */
export function terminalsFromEnv(env: NodeJS.ProcessEnv): Terminal[] {
  const spec = env.BT_CONSOLES;
  const screens =
    spec === 'stdio' ? [] : spec === undefined ? openScreens() : openScreens(spec.split(',').filter(Boolean));
  return screens.length > 0 ? screens : [{ input: process.stdin, output: process.stdout }];
}
