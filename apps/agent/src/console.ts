import type { Readable, Writable } from 'node:stream';
import { decodeKeys, type Key } from './keys.js';

/** A terminal: the agent's stdin/stdout on /dev/console (tty1 or ttyS0), or a pty in tests. */
export interface Terminal {
  input: Readable & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  output: Writable;
}

/** Where the console's lines are copied (the agent's log stream to the server). */
export interface ConsoleTap {
  line(text: string): void;
  status(text: string): void;
}

/**
 * Key input and line output on a terminal. Keys are queued while nobody waits, so a key pressed
 * during a redraw is not lost. `release()` hands the terminal to a child (shell, bin, qemu).
 */
export class Console {
  private queue: Key[] = [];
  private lastStatus: string | undefined;
  private waiter: ((k: Key | null) => void) | null = null;
  private readonly onData = (chunk: Buffer | string) => {
    for (const key of decodeKeys(chunk.toString())) {
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = null;
        w(key);
      } else this.queue.push(key);
    }
  };

  /** Gets a copy of every line and status line (not the menu's screen redraws). */
  tap: ConsoleTap | undefined;

  constructor(private readonly term: Terminal) {}

  /** Raw mode on and listening for keys. */
  acquire(): void {
    this.term.input.setRawMode?.(true);
    this.term.input.on('data', this.onData);
    this.term.input.resume();
  }

  /** Raw mode off and stop reading, so a child process owns the terminal. */
  release(): void {
    this.term.input.off('data', this.onData);
    this.term.input.pause();
    this.term.input.setRawMode?.(false);
    this.queue = [];
  }

  write(text: string): void {
    this.term.output.write(text);
  }

  /** One message line (raw mode needs CR LF). */
  line(text: string): void {
    this.lastStatus = undefined;
    this.term.output.write(`${text}\r\n`);
    this.tap?.line(text);
  }

  /** A status line redrawn in place, only when it changed (a serial console logs every redraw). */
  status(text: string): void {
    if (text === this.lastStatus) return;
    this.lastStatus = text;
    this.term.output.write(`\r\x1b[K${text}`);
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
