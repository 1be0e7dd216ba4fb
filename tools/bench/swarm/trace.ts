// A timeline of one scenario (swarm.ts --trace-ms <ms>): every <ms> the bytes each host's eth0 received
// and sent (read from /proc/<pid>/net/dev of a process inside its namespace: the namespace's view), the
// CPU of each process (/proc/<pid>/stat, jiffies of 10 ms) and the whole machine's busy share
// (/proc/stat). It says where a run's time goes: the start (is the server's link idle?), a steady rate
// under line rate (CPU?), or the tail (the last pieces).
import { readFileSync, readlinkSync } from 'node:fs';

export interface TraceSeries {
  intervalMs: number;
  /** ms since the scenario's t0, per sample */
  t: number[];
  /** per host name: cumulative eth0 bytes received / sent since the first sample */
  rx: Record<string, number[]>;
  tx: Record<string, number[]>;
  /** per process name: cumulative CPU-seconds since the first sample, and the kernel's part of them */
  cpu: Record<string, number[]>;
  sys: Record<string, number[]>;
  /** per process name: cumulative minor page faults since the first sample */
  faults: Record<string, number[]>;
  /** the machine: cumulative busy and total jiffies since the first sample */
  busy: number[];
  total: number[];
  /** the machine's runnable tasks at each sample (/proc/stat procs_running; over 2 = waiting for a core) */
  running: number[];
  /** per host: TCP counters of its namespace that moved during the window (/proc/net/snmp, netstat) */
  tcp: Record<string, Record<string, number>>;
}

/** TCP counters worth a look when a link runs under its rate: segments, losses, receive-queue work. */
const TCP_KEYS = [
  'InSegs',
  'OutSegs',
  'RetransSegs',
  'TCPTimeouts',
  'TCPLossProbes',
  'TCPFastRetrans',
  'TCPSackRecovery',
  'PruneCalled',
  'TCPRcvCollapsed',
  'TCPRcvQDrop',
  'TCPBacklogDrop',
  'TCPOFOQueue',
  'TCPBacklogCoalesce',
  'TCPZeroWindowDrop',
  'TCPWantZeroWindowAdv',
  'TCPToZeroWindowAdv',
];

/** TCP counters of a process's namespace (pairs of header and value lines, "Tcp:" and "TcpExt:"). */
function tcpCounters(pid: number): Record<string, number> | undefined {
  try {
    if (readlinkSync(`/proc/${pid}/ns/net`) === ownNetNs) return undefined;
    const out: Record<string, number> = {};
    for (const file of ['snmp', 'netstat']) {
      const lines = readFileSync(`/proc/${pid}/net/${file}`, 'utf8').split('\n');
      for (let i = 0; i + 1 < lines.length; i += 2) {
        const keys = lines[i]!.split(/\s+/).slice(1);
        const vals = lines[i + 1]!.split(/\s+/).slice(1).map(Number);
        keys.forEach((k, j) => {
          if (TCP_KEYS.includes(k)) out[k] = vals[j]!;
        });
      }
    }
    return out;
  } catch {
    return undefined;
  }
}

interface Probe {
  name: string;
  pid: number;
  /** sample this process's namespace's eth0 as host `name` */
  net: boolean;
}

/** This process's network namespace: a probe reads as NaN until its process has left it. */
const ownNetNs = (() => {
  try {
    return readlinkSync('/proc/self/ns/net');
  } catch {
    return '';
  }
})();

function netDev(pid: number, dev: string): [number, number] {
  try {
    // `ip netns exec` enters the namespace, then execs: until then the pid reads the root namespace
    if (readlinkSync(`/proc/${pid}/ns/net`) === ownNetNs) return [NaN, NaN];
    const line = readFileSync(`/proc/${pid}/net/dev`, 'utf8')
      .split('\n')
      .find((l) => l.trimStart().startsWith(`${dev}:`));
    if (!line) return [NaN, NaN];
    const f = line
      .slice(line.indexOf(':') + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    return [f[0]!, f[8]!];
  } catch {
    return [NaN, NaN];
  }
}

/**
 * CPU-seconds of a process (user + system, its waited-for children included), the system part, and
 * its minor page faults (each a page the kernel had to find and zero: system time).
 */
function cpuOf(pid: number): [number, number, number] {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const sys = (Number(f[12]) + Number(f[14])) / 100;
    return [(Number(f[11]) + Number(f[13])) / 100 + sys, sys, Number(f[7]) + Number(f[8])];
  } catch {
    return [NaN, NaN, NaN];
  }
}

function machine(): [number, number, number] {
  const text = readFileSync('/proc/stat', 'utf8');
  const f = text.split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  const running = Number(/^procs_running (\d+)/m.exec(text)?.[1] ?? NaN);
  return [total - f[3]! - f[4]!, total, running];
}

/** Samples until stop(); processes may be added later (aria2c clients are spawned after t0). */
export class Tracer {
  private readonly probes: Probe[] = [];
  private readonly base = new Map<string, number>();
  private readonly series: TraceSeries;
  private readonly timer: ReturnType<typeof setInterval>;
  private stopped = false;
  private readonly t0: number;
  /** TCP counters of each host at its first sample */
  private readonly tcp0 = new Map<string, Record<string, number>>();

  constructor(t0: number, intervalMs: number) {
    this.t0 = t0;
    this.series = {
      intervalMs,
      t: [],
      rx: {},
      tx: {},
      cpu: {},
      sys: {},
      faults: {},
      busy: [],
      total: [],
      running: [],
      tcp: {},
    };
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
    this.sample();
  }

  add(name: string, pid: number, net = true): void {
    this.probes.push({ name, pid, net });
  }

  private rel(key: string, v: number): number {
    if (!this.base.has(key) && Number.isFinite(v)) this.base.set(key, v);
    return v - (this.base.get(key) ?? v);
  }

  private push(rec: Record<string, number[]>, name: string, v: number): void {
    const arr = (rec[name] ??= []);
    while (arr.length < this.series.t.length - 1) arr.push(0);
    arr.push(v);
  }

  private sample(): void {
    const s = this.series;
    s.t.push(Date.now() - this.t0);
    const [b, t, running] = machine();
    s.busy.push(this.rel('busy', b));
    s.total.push(this.rel('total', t));
    s.running.push(running);
    for (const p of this.probes) {
      const [cpu, sys, faults] = cpuOf(p.pid);
      this.push(s.cpu, p.name, this.rel(`cpu:${p.name}`, cpu));
      this.push(s.sys, p.name, this.rel(`sys:${p.name}`, sys));
      this.push(s.faults, p.name, this.rel(`faults:${p.name}`, faults));
      if (!p.net) continue;
      if (!this.tcp0.has(p.name)) {
        const c = tcpCounters(p.pid);
        if (c) this.tcp0.set(p.name, c);
      }
      const [rx, tx] = netDev(p.pid, 'eth0');
      this.push(s.rx, p.name, this.rel(`rx:${p.name}`, rx));
      this.push(s.tx, p.name, this.rel(`tx:${p.name}`, tx));
    }
  }

  /** Ends sampling (idempotent) and returns the series. */
  stop(): TraceSeries {
    if (this.stopped) return this.series;
    this.stopped = true;
    clearInterval(this.timer);
    this.sample();
    for (const p of this.probes) {
      const a = this.tcp0.get(p.name);
      const b = p.net ? tcpCounters(p.pid) : undefined;
      if (!a || !b) continue;
      const moved: Record<string, number> = {};
      for (const k of TCP_KEYS) if ((b[k] ?? 0) - (a[k] ?? 0) !== 0) moved[k] = (b[k] ?? 0) - (a[k] ?? 0);
      this.series.tcp[p.name] = moved;
    }
    // a process that exited reads NaN: carry its last value
    for (const rec of [this.series.rx, this.series.tx, this.series.cpu, this.series.sys, this.series.faults])
      for (const arr of Object.values(rec))
        for (let i = 0; i < arr.length; i++) if (!Number.isFinite(arr[i]!)) arr[i] = i ? arr[i - 1]! : 0;
    return this.series;
  }
}

/**
 * The timeline as text, one row per `bucketMs`: the server's upload and each client's download in
 * Mbit/s (wire bytes), CPU of each process in % of one core, the machine's busy %, and which clients
 * finished in that bucket.
 */
export function traceTable(s: TraceSeries, doneMs: number[], bucketMs?: number): string {
  const hosts = Object.keys(s.rx);
  const clients = hosts.filter((h) => h !== 'srv');
  const procs = Object.keys(s.cpu);
  const at = (arr: number[], ms: number): number => {
    // linear interpolation of a cumulative series at ms
    let i = s.t.findIndex((x) => x >= ms);
    if (i < 0) i = s.t.length - 1;
    if (i === 0) return arr[0] ?? 0;
    const t0 = s.t[i - 1]!;
    const t1 = s.t[i]!;
    const f = t1 > t0 ? Math.min(1, Math.max(0, (ms - t0) / (t1 - t0))) : 1;
    return arr[i - 1]! + f * (arr[i]! - arr[i - 1]!);
  };
  const end = Math.max(...doneMs, s.t[s.t.length - 1] ?? 0);
  // about 50 rows: 100 ms for a 5 s run, 1 s for a minute
  bucketMs ??= Math.min(1000, Math.max(100, Math.round(end / 50 / 50) * 50));
  const ms = bucketMs;
  const head = [
    'ms',
    'srv up',
    ...clients.map((c) => `${c} dn`),
    ...clients.map((c) => `${c} up`),
    ...procs.map((p) => `cpu ${p}`),
    'busy',
    'run',
    'done',
  ];
  const rows = [head.join('\t')];
  /** mean runnable tasks over the samples in [a, z) (the sampler itself is one of them) */
  const runnable = (a: number, z: number): string => {
    let sum = 0;
    let k = 0;
    s.t.forEach((x, i) => {
      if (x >= a && x < z && Number.isFinite(s.running[i])) {
        sum += s.running[i]!;
        k++;
      }
    });
    return k ? (sum / k).toFixed(1) : '–';
  };
  const mbit = (bytes: number) => ((bytes * 8) / (ms / 1000) / 1e6).toFixed(0);
  for (let a = 0; a < end; a += ms) {
    const z = a + ms;
    const d = (arr: number[] | undefined) => (arr ? at(arr, z) - at(arr, a) : 0);
    const busy = d(s.busy);
    const total = d(s.total);
    const done = doneMs
      .map((ms, i) => (ms >= a && ms < z ? `c${String(i + 1).padStart(2, '0')}` : ''))
      .filter(Boolean);
    rows.push(
      [
        String(a),
        mbit(d(s.tx.srv)),
        ...clients.map((c) => mbit(d(s.rx[c]))),
        ...clients.map((c) => mbit(d(s.tx[c]))),
        ...procs.map((p) => ((100 * d(s.cpu[p])) / (ms / 1000)).toFixed(0)),
        total > 0 ? ((100 * busy) / total).toFixed(0) : '–',
        runnable(a, z),
        done.join(' '),
      ].join('\t'),
    );
  }
  return rows.join('\n');
}

/**
 * Milestones per host, ms since t0: when its link had carried 64 KiB, 1 MiB, half and 90 % of
 * `fileBytes` (the server: sent; a client: received; wire bytes), and the mean rate in Mbit/s between
 * the 1 MiB and the 90 % marks.
 */
export function traceSummary(s: TraceSeries, fileBytes: number, doneMs: number[]): string {
  const when = (arr: number[] | undefined, bytes: number): number => {
    if (!arr) return NaN;
    const i = arr.findIndex((x) => x >= bytes);
    if (i <= 0) return i === 0 ? s.t[0]! : NaN;
    const f = (bytes - arr[i - 1]!) / Math.max(1, arr[i]! - arr[i - 1]!);
    return s.t[i - 1]! + f * (s.t[i]! - s.t[i - 1]!);
  };
  const lines: string[] = [];
  for (const host of Object.keys(s.rx)) {
    const arr = host === 'srv' ? s.tx[host] : s.rx[host];
    const first = when(arr, 64 * 1024);
    const a = when(arr, 2 ** 20);
    const h = when(arr, fileBytes / 2);
    const z = when(arr, 0.9 * fileBytes);
    const rate = ((0.9 * fileBytes - 2 ** 20) * 8) / ((z - a) / 1000) / 1e6;
    const ci = host === 'srv' ? -1 : Number(host.slice(1)) - 1;
    const done = ci >= 0 ? doneMs[ci] : undefined;
    const total = arr?.[arr.length - 1] ?? 0;
    lines.push(
      `${host} ${host === 'srv' ? 'sent' : 'received'}: 64 KiB at ${first.toFixed(0)} ms, 1 MiB at ${a.toFixed(0)}, F/2 at ${h.toFixed(0)}, ` +
        `0.9 F at ${z.toFixed(0)}${done !== undefined ? `, done at ${done.toFixed(0)}` : ''}; ` +
        `${rate.toFixed(0)} Mbit/s between; ${(total / fileBytes).toFixed(3)} F in all`,
    );
  }
  const cpu = Object.keys(s.cpu).map((p) => {
    const total = s.cpu[p]![s.cpu[p]!.length - 1] ?? 0;
    const sys = s.sys[p]?.[s.sys[p]!.length - 1] ?? 0;
    const faults = s.faults?.[p]?.[s.faults[p]!.length - 1] ?? 0;
    return `${p} ${total.toFixed(2)} (system ${sys.toFixed(2)}, ${faults} page faults)`;
  });
  const busy = s.busy[s.busy.length - 1] ?? 0;
  const all = s.total[s.total.length - 1] ?? 0;
  lines.push(
    `CPU-s in the window: ${cpu.join(', ')}; machine ${(busy / 100).toFixed(2)} of ${(all / 100).toFixed(2)}`,
  );
  for (const [host, c] of Object.entries(s.tcp ?? {}))
    lines.push(
      `TCP ${host}: ${Object.entries(c)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
  return lines.join('\n');
}
