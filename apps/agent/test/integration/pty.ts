// Runs the built agent bundle under a real pseudo-terminal (util-linux `script`), as on a console.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { watchOutput } from '@boottorrent/testing/output';

export const AGENT_BUNDLE = fileURLToPath(new URL('../../dist/agent.mjs', import.meta.url));

export interface PtyAgent {
  child: ChildProcess;
  output(): string;
  /** Output with VT100 sequences removed. */
  text(): string;
  send(keys: string): void;
  waitFor(re: RegExp, ms?: number): Promise<RegExpMatchArray>;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

// eslint-disable-next-line no-control-regex -- VT100 sequences start with ESC
const strip = (s: string) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');

export async function startAgent(opts: {
  payload: string;
  cmdline?: string;
  meminfo?: string;
  data: string;
  lease?: string;
  /** Stands in for kexec. The host's own kexec never runs: by default kexec is `false`. */
  kexec?: string;
}): Promise<PtyAgent> {
  const scratch = await mkdtemp(join(tmpdir(), 'bt-agent-pty-'));
  await writeFile(join(scratch, 'cmdline'), opts.cmdline ?? 'console=ttyS0 quiet');
  await writeFile(join(scratch, 'lease'), opts.lease ?? 'mac=52:54:00:aa:bb:cc\nip=127.0.0.1\n');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    BT_PAYLOAD: opts.payload,
    BT_CMDLINE: join(scratch, 'cmdline'),
    BT_LEASE: join(scratch, 'lease'),
    BT_DATA: opts.data,
    TERM: 'vt100',
    // The pty is the agent's stdio; the host's own tty1 and ttyS0 are not its screens.
    BT_CONSOLES: 'stdio',
    BT_KEXEC: opts.kexec ?? 'false',
  };
  if (opts.meminfo !== undefined) {
    await writeFile(join(scratch, 'meminfo'), opts.meminfo);
    env.BT_MEMINFO = join(scratch, 'meminfo');
  }
  const child = spawn('script', ['-qfec', `${process.execPath} ${AGENT_BUNDLE}`, '/dev/null'], {
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const watch = watchOutput(child, { what: 'the agent', view: strip });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const agent: PtyAgent = {
    child,
    output: watch.output,
    text: () => strip(watch.output()),
    send: (keys) => child.stdin!.write(keys),
    waitFor: (re, ms = 30_000) => watch.waitFor(re, ms),
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
      await rm(scratch, { recursive: true, force: true });
    },
  };
  return agent;
}
