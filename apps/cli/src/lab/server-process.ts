import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createInterface } from 'node:readline';
import type { Netns } from '@boottorrent/lab';
import type { ServerEvent } from '@boottorrent/server';
import { CliError, CliErrorCode } from '../command.js';

/** `boottorrent start --json` inside the lab's namespace, its JSON lines read back as typed events. */
export interface ServerProcess {
  child: ChildProcess;
  /** Every ServerEvent the server printed, in order. */
  events: EventEmitter<{ event: [ServerEvent] }>;
  /** Resolves on the server's `ready` line; rejects if it exits first, is interrupted or takes too long. */
  ready: Promise<void>;
  /** Its stderr lines (build progress, errors), for the report. */
  log: string[];
}

/** Options of {@link startServerProcess}. */
export interface ServerProcessOptions {
  /** Aborting it (Ctrl+C) rejects `ready`; the caller's cleanup then removes everything. */
  signal?: AbortSignal;
  /** `ready` rejects after this long (the first build of phase-1 takes minutes under load). */
  readyMs: number;
}

/**
 * Starts the server as a child inside `net` (a process cannot enter a namespace for part of its
 * work, so the server runs as `ip netns exec … node cli.js start --json`).
 */
export function startServerProcess(
  net: Netns,
  cli: string,
  args: string[],
  o: ServerProcessOptions,
): ServerProcess {
  const child = net.spawn(process.execPath, [cli, 'start', ...args, '--json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events = new EventEmitter<{ event: [ServerEvent] }>();
  const log: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (l) => log.push(l));
  let timer: NodeJS.Timeout | undefined;
  let interrupted = () => {};
  const ready = new Promise<void>((resolve, reject) => {
    child.on('exit', (code) =>
      reject(
        new CliError(CliErrorCode.Failed, `the server exited (${code}) before it was ready`, {
          hint: `its last lines:\n  ${log.slice(-8).join('\n  ')}`,
        }),
      ),
    );
    timer = setTimeout(() => {
      const message = `the server did not become ready in ${o.readyMs / 1000} s`;
      reject(new CliError(CliErrorCode.Failed, message, { hint: 'see the server log above' }));
    }, o.readyMs);
    interrupted = () =>
      reject(
        new CliError(CliErrorCode.Interrupted, 'interrupted', {
          hint: 'everything the lab created was removed',
        }),
      );
    if (o.signal?.aborted) interrupted();
    o.signal?.addEventListener('abort', interrupted, { once: true });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let e: { type?: unknown };
      try {
        e = JSON.parse(line) as { type?: unknown };
      } catch {
        return;
      }
      if (e.type === 'ready') resolve();
      else if (typeof e.type === 'string') events.emit('event', e as ServerEvent);
    });
  }).finally(() => {
    clearTimeout(timer);
    o.signal?.removeEventListener('abort', interrupted);
  });
  ready.catch(() => {});
  return { child, events, ready, log };
}
