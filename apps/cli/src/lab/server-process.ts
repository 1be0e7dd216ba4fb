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
  /** Resolves on the server's `ready` line; rejects if it exits first. */
  ready: Promise<void>;
  /** Its stderr lines (build progress, errors), for the report. */
  log: string[];
}

/**
 * Starts the server as a child inside `net` (a process cannot enter a namespace for part of its
 * work, so the server runs as `ip netns exec … node cli.js start --json`).
 */
export function startServerProcess(net: Netns, cli: string, args: string[]): ServerProcess {
  const child = net.spawn(process.execPath, [cli, 'start', ...args, '--json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events = new EventEmitter<{ event: [ServerEvent] }>();
  const log: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (l) => log.push(l));
  const ready = new Promise<void>((resolve, reject) => {
    child.on('exit', (code) =>
      reject(
        new CliError(CliErrorCode.Failed, `the server exited (${code}) before it was ready`, {
          hint: `its last lines:\n  ${log.slice(-8).join('\n  ')}`,
        }),
      ),
    );
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
  });
  ready.catch(() => {});
  return { child, events, ready, log };
}
