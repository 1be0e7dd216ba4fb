// Every process the benchmark starts goes through here: it runs inside a namespace (`ip netns exec`
// execs in place, so the PID is the program's), in its own process group, and is remembered until it
// exits. killAll() ends exactly those groups by id: SIGTERM, then SIGKILL after a grace period.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

export interface Proc {
  name: string;
  child: ChildProcess;
  pid: number;
  /** Resolves with the exit code (or signal name) when the process exits. */
  exited: Promise<number | string>;
  /** Last lines of stderr, for error messages. */
  stderrTail(): string;
  /** Calls `fn` with each stdout line parsed as JSON (non-JSON lines are ignored). */
  onMessage(fn: (msg: Record<string, unknown>) => void): void;
  send(line: string): void;
  /** User+system CPU seconds of the process and its waited-for children (while it runs). */
  cpuSeconds(): number;
}

const CLK_TCK = 100;

function readCpu(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields after the comm: state(0) ... utime(11) stime(12) cutime(13) cstime(14)
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / CLK_TCK;
  } catch {
    return 0;
  }
}

export class Procs {
  private readonly live = new Set<Proc>();
  /** CPU seconds of processes that already exited (sampled just before we killed them). */
  private retiredCpu = 0;

  private readonly log?: (line: string) => void;

  constructor(log?: (line: string) => void) {
    this.log = log;
  }

  spawn(name: string, ns: string, cmd: string, args: string[], env?: Record<string, string>): Proc {
    this.log?.(`[${ns}] ${cmd} ${args.join(' ')}`);
    const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], {
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    if (child.pid === undefined) throw new Error(`could not start ${cmd} in ${ns}`);
    const pid = child.pid;
    let tail = '';
    child.stderr?.on('data', (d: Buffer) => {
      tail = (tail + d.toString()).slice(-2000);
      if (process.env.BTSW_DEBUG) process.stderr.write(`[${name}] ${d.toString()}`);
    });
    child.stdin?.on('error', () => undefined);
    const listeners: ((msg: Record<string, unknown>) => void)[] = [];
    if (child.stdout) {
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (process.env.BTSW_DEBUG) process.stderr.write(`[${name}] ${line}\n`);
        if (!line.startsWith('{')) return;
        let msg: Record<string, unknown>;
        try {
          msg = JSON.parse(line) as Record<string, unknown>;
        } catch {
          return;
        }
        for (const fn of listeners) fn(msg);
      });
    }
    const exited = new Promise<number | string>((resolve) => {
      child.on('exit', (code, signal) => {
        this.live.delete(proc);
        resolve(code ?? signal ?? 'unknown');
      });
      child.on('error', () => {
        this.live.delete(proc);
        resolve('spawn error');
      });
    });
    const proc: Proc = {
      name,
      child,
      pid,
      exited,
      stderrTail: () => tail,
      onMessage: (fn) => listeners.push(fn),
      send: (line) => {
        if (child.stdin?.writable) child.stdin.write(`${line}\n`);
      },
      cpuSeconds: () => readCpu(pid),
    };
    this.live.add(proc);
    return proc;
  }

  /** CPU seconds used by everything started since the last reset (live processes sampled now). */
  cpuSeconds(): number {
    let s = this.retiredCpu;
    for (const p of this.live) s += p.cpuSeconds();
    return s;
  }

  resetCpu(): void {
    this.retiredCpu = 0;
  }

  /** Ends one process group: SIGTERM, then SIGKILL after `graceMs`. */
  async kill(proc: Proc, graceMs = 3000): Promise<void> {
    if (!this.live.has(proc)) return;
    this.retiredCpu += proc.cpuSeconds();
    try {
      process.kill(-proc.pid, 'SIGTERM');
    } catch {
      // already gone
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-proc.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, graceMs);
    await proc.exited;
    clearTimeout(timer);
  }

  async killAll(graceMs = 3000): Promise<void> {
    await Promise.all([...this.live].map((p) => this.kill(p, graceMs)));
  }

  /** For process 'exit' handlers: SIGKILL every remaining group at once. */
  killAllSync(): void {
    for (const p of this.live) {
      try {
        process.kill(-p.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    this.live.clear();
  }
}
