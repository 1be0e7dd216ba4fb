// The built boot server (_ns-server.mjs) in a test's network namespace, with its events collected.
import type { ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { initProject } from '@boottorrent/config';
import type { Netns } from '@boottorrent/testing/lab';
import type { ServerEvent } from '../../src/index.js';

const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));
export const REPO = here('../../../../');
/** Phase-1 is built once into this cache and found there by later runs. */
const PHASE1_CACHE = join(REPO, 'node_modules/.cache/bt-server-ns/phase1');

export interface NsServer {
  events: ServerEvent[];
  /** Resolves with `f()` once it is not undefined; rejects after `timeoutMs` quoting the server. */
  until<T>(what: string, f: () => T | undefined, timeoutMs: number): Promise<T>;
  close(): Promise<void>;
}

/** Writes a project at `dir` with `config` as its config.yaml and serves it in `ns` (seeder off unless asked). */
export async function startNsServer(
  ns: Netns,
  dir: string,
  hostIp: string,
  config: string,
  opts: { seeder?: boolean } = {},
): Promise<NsServer> {
  await initProject(dir, { hostIp, interface: 'br0' });
  await writeFile(join(dir, 'config.yaml'), config);
  await mkdir(PHASE1_CACHE, { recursive: true });
  const child: ChildProcess = ns.spawn(
    process.execPath,
    [here('./_ns-server.mjs'), dir, PHASE1_CACHE, opts.seeder ? 'seeder' : 'no-seeder'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const events: ServerEvent[] = [];
  let output = '';
  let ready = false;
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    output += `${line}\n`;
    const msg = JSON.parse(line) as { event?: ServerEvent; ready?: boolean };
    if (msg.event) events.push(msg.event);
    if (msg.ready) ready = true;
  });
  const until = async <T>(what: string, f: () => T | undefined, timeoutMs: number): Promise<T> => {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const v = f();
      if (v !== undefined) return v;
      if (child.exitCode !== null || Date.now() > end)
        throw new Error(`${what}: not within ${timeoutMs} ms; server said: ${output.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  };
  try {
    await until('server ready', () => (ready ? true : undefined), 300_000);
  } catch (e) {
    await close();
    throw e;
  }
  return { events, until, close };
}
