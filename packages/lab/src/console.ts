// A VM's serial console: kept in memory, optionally copied to a file, and waited on by pattern.
import { createWriteStream, type WriteStream } from 'node:fs';
import { LabError, LabErrorCode } from './errors.js';

/** How much of the console an error message quotes. */
const TAIL = 3000;

interface Waiter {
  check(): void;
  ended(): void;
}

export class ConsoleCapture {
  private text = '';
  private readonly waiters = new Set<Waiter>();
  private readonly file: WriteStream | undefined;
  private closed = false;

  /** `describeEnd` says why no more output comes (e.g. QEMU's exit code and stderr). */
  constructor(
    private readonly what: string,
    path: string | undefined,
    private readonly describeEnd: () => string,
  ) {
    // flags 'w': a log an earlier run left at the same path is never read as this VM's console.
    this.file = path === undefined ? undefined : createWriteStream(path, { flags: 'w' });
    this.file?.on('error', () => undefined); // a full disk must not crash the caller; memory has it all
  }

  append(chunk: string): void {
    this.text += chunk;
    this.file?.write(chunk);
    for (const w of this.waiters) w.check();
  }

  output(): string {
    return this.text;
  }

  /** No more output will come: pending waits reject now. Resolves when the file is flushed. */
  async end(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.waiters) w.ended();
    const f = this.file;
    if (f) await new Promise<void>((r) => f.end(r));
  }

  /**
   * Resolves with the first match of `re` in the output from offset `from` on (output already there
   * counts). Rejects with LAB_TIMEOUT after `ms`, or LAB_EXITED once the output has ended.
   */
  waitFor(re: RegExp, ms: number, from = 0): Promise<RegExpMatchArray> {
    // A global or sticky pattern would keep lastIndex between checks; match with a plain copy.
    const plain = new RegExp(re.source, re.flags.replace(/[gy]/g, ''));
    return new Promise((resolve, reject) => {
      const done = () => {
        this.waiters.delete(w);
        clearTimeout(timer);
      };
      const w: Waiter = {
        check: () => {
          const m = plain.exec(this.text.slice(from));
          if (!m) return;
          done();
          resolve(m);
        },
        ended: () => {
          done();
          reject(
            new LabError(
              LabErrorCode.Exited,
              `${this.what}${this.describeEnd()} before ${re} appeared on its console; it printed:\n${this.tail()}`,
            ),
          );
        },
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new LabError(
            LabErrorCode.Timeout,
            `${this.what}: no ${re} on the console in ${ms} ms; it printed:\n${this.tail()}`,
          ),
        );
      }, ms);
      this.waiters.add(w);
      w.check();
      if (this.closed && this.waiters.has(w)) w.ended();
    });
  }

  private tail(): string {
    return this.text.slice(-TAIL);
  }
}
