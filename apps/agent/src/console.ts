import type { Readable, Writable } from 'node:stream';
import { decodeKeys, type Key } from './keys.js';

/** A terminal: a screen the agent opened (tty1, ttyS0: screens.ts), or its stdin/stdout in tests. */
export interface Terminal {
  input: Readable & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  output: Writable;
  /** Its device (`/dev/tty1`), given to a child that takes it over; without one the child inherits stdio. */
  name?: string;
  /** Opens it afresh (after a child's session hung it up). */
  reopen?(): void;
}

/** Where the console's lines are copied (the agent's log stream to the server). */
export interface ConsoleTap {
  line(text: string): void;
  status(text: string): void;
}

/**
 * Key input and line output on every terminal at once (the screen and the serial port: a person may
 * sit at either). Keys are queued while nobody waits, so a key pressed during a redraw is not lost.
 * `release()` hands the terminal the last key came from to a child (shell, bin, qemu).
 */
export class Console {
  private queue: Key[] = [];
  private lastStatus: string | undefined;
  private waiter: ((k: Key | null) => void) | null = null;
  private readonly terms: readonly Terminal[];
  private readonly listeners = new Map<Terminal, (chunk: Buffer | string) => void>();
  private released = false;
  /** Where the last key came from; before any key, the first terminal (the kernel's console). */
  private from: Terminal;
  private onData(term: Terminal, chunk: Buffer | string) {
    const keys = decodeKeys(chunk.toString());
    if (keys.length > 0) this.from = term;
    for (const key of keys) {
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = null;
        w(key);
      } else this.queue.push(key);
    }
  }

  /** Gets a copy of every line and status line (not the menu's screen redraws). */
  tap: ConsoleTap | undefined;

  constructor(terms: Terminal | readonly Terminal[]) {
    this.terms = Array.isArray(terms) ? terms : [terms as Terminal];
    if (this.terms.length === 0) throw new Error('Console needs at least one terminal');
    this.from = this.terms[0]!;
  }

  /** Raw mode on and listening for keys on every terminal (the one a child had is reopened first). */
  acquire(): void {
    if (this.released) {
      try {
        this.from.reopen?.();
      } catch {
        // gone (unplugged adapter): keep the old streams, whose errors are ignored
      }
    }
    this.released = false;
    for (const t of this.terms) {
      const listener = (chunk: Buffer | string) => this.onData(t, chunk);
      this.listeners.set(t, listener);
      t.input.setRawMode?.(true);
      t.input.on('data', listener);
      t.input.resume();
    }
  }

  /**
   * Raw mode off and stop reading, so a child process owns the terminal. Returns the terminal the
   * user chose: the one the last key came from.
   */
  release(): Terminal {
    for (const [t, listener] of this.listeners) {
      t.input.off('data', listener);
      t.input.pause();
      t.input.setRawMode?.(false);
    }
    this.listeners.clear();
    this.released = true;
    this.queue = [];
    return this.from;
  }

  /** The terminal the last key came from (or the kernel's console). */
  get chosen(): Terminal {
    return this.from;
  }

  write(text: string): void {
    for (const t of this.terms) t.output.write(text);
  }

  /** One message line (raw mode needs CR LF). */
  line(text: string): void {
    this.lastStatus = undefined;
    this.write(`${text}\r\n`);
    this.tap?.line(text);
  }

  /** A status line redrawn in place, only when it changed (a serial console logs every redraw). */
  status(text: string): void {
    if (text === this.lastStatus) return;
    this.lastStatus = text;
    this.write(`\r\x1b[K${text}`);
    this.tap?.status(text);
  }

  /** Next key, or null after `ms` milliseconds without one. */
  nextKey(ms: number): Promise<Key | null> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.waiter = null;
        resolve(null);
      }, ms);
      this.waiter = (k) => {
        clearTimeout(t);
        resolve(k);
      };
    });
  }
}
