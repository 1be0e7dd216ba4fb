// The captured stdout + stderr of a child process, and a wait for a pattern in it (or in a view of it).
import type { ChildProcess } from 'node:child_process';
import { stripVTControlCharacters } from 'node:util';

/** `text` without terminal styling and cursor control (colours, erase-line, ...): what a reader sees. */
export function unstyled(text: string): string {
  return stripVTControlCharacters(text);
}

export interface OutputWatch {
  /** Everything the child printed so far. */
  output(): string;
  /** Resolves with the first match of `re` in the (viewed) output; rejects on timeout or exit. */
  waitFor(re: RegExp, ms: number): Promise<RegExpMatchArray>;
}

export function watchOutput(
  child: ChildProcess,
  opts: {
    /** named in error messages, e.g. "QEMU" */
    what: string;
    encoding?: BufferEncoding;
    /** what `waitFor` searches and the errors quote, e.g. the text without VT100 sequences */
    view?: (raw: string) => string;
  },
): OutputWatch {
  const view = opts.view ?? ((s: string) => s);
  let out = '';
  const waiters = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d.toString(opts.encoding ?? 'utf8');
    for (const w of waiters) w();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    output: () => out,
    waitFor(re, ms) {
      return new Promise((resolve, reject) => {
        const done = () => {
          waiters.delete(check);
          clearTimeout(t);
        };
        const check = () => {
          const m = view(out).match(re);
          if (m) {
            done();
            resolve(m);
          }
        };
        const t = setTimeout(() => {
          done();
          reject(
            new Error(
              `timed out after ${ms} ms waiting for ${re}; ${opts.what} printed:\n${view(out).slice(-3000)}`,
            ),
          );
        }, ms);
        waiters.add(check);
        check();
        void exited.then(() => {
          if (!waiters.has(check)) return;
          check();
          if (!waiters.has(check)) return;
          done();
          reject(new Error(`${opts.what} exited before ${re}; it printed:\n${view(out).slice(-3000)}`));
        });
      });
    },
  };
}
