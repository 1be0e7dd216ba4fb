import { totals, type BootServer, type ClientInfo, type ServerEvent } from '@boottorrent/server';

export type ViewMode = 'tty' | 'lines' | 'json';

/** `--log-level`: the least an event must matter to be printed (the TTY's recent list and plain lines). */
export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
/** syslog priorities (RFC 5424 §6.2.1), for journald's `<N>` line prefix. */
const PRIORITY: Record<LogLevel, number> = { error: 3, warn: 4, info: 6, debug: 7 };
/** Console lines of a failed machine printed under its error. */
export const FAILURE_TAIL = 10;

/** How much an event matters: a failed machine is an error, the per-request HTTP log is debug. */
export function eventLevel(e: ServerEvent): LogLevel {
  switch (e.type) {
    case 'warning':
      return 'warn';
    case 'runtime':
      return e.action === 'failed' ? 'warn' : e.action === 'have' || e.action === 'left' ? 'info' : 'debug';
    case 'client':
      return e.phase === 'error' ? 'error' : 'info';
    case 'http':
      return e.status >= 500 ? 'warn' : 'debug';
    case 'lease':
      return e.kind === 'acked' ? 'info' : 'debug';
    case 'tftp':
      return e.kind === 'error' ? 'warn' : 'info';
    case 'refused':
      // Every machine on a site LAN that is not ours would fill the log at info; a boot client we
      // cannot serve (its firmware, a relay's subnet, a full pool) is one the operator must fix.
      if (e.service === 'tftp') return 'info';
      return /^(arch-unsupported|loader-missing|unknown-subnet|pool-exhausted|plan-error)\b/.test(e.reason)
        ? 'warn'
        : 'debug';
    default:
      return 'info';
  }
}

/** Formats bytes for people: 1.5 MiB. */
export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

/** One human line per event (the non-TTY log and the TTY's recent-events list). */
export function eventLine(e: ServerEvent): string | null {
  switch (e.type) {
    case 'listening':
      return `${e.service} listening on ${e.address}:${e.port}`;
    case 'lease':
      return `dhcp ${e.kind} ${e.ip} to ${e.mac}`;
    case 'boot':
      return `dhcp ${e.message}: ${e.mac} (${e.firmware}) gets ${e.loader}`;
    case 'tftp':
      if (e.kind === 'start') return null;
      return `tftp ${e.kind} ${e.file ?? ''} to ${e.client}${e.bytes !== undefined ? ` (${bytes(e.bytes)} in ${e.ms} ms)` : ''}${e.error ? `: ${e.error}` : ''}`;
    case 'http':
      if (e.path.startsWith('/api/')) return null;
      return `http ${e.status} ${e.method} ${e.path} to ${e.remote} (${bytes(e.bytes)})`;
    case 'client': {
      const pct =
        e.phase === 'downloading' && e.progress !== undefined ? ` ${Math.round(e.progress * 100)}%` : '';
      return `client ${e.mac} ${e.ip ?? ''} ${e.phase}${pct}${e.os ? ` ${e.os}` : ''} (${e.why})`;
    }
    case 'refused':
      return `${e.service} refused ${e.client}${e.file ? ` ${e.file}` : ''}: ${e.reason}`;
    case 'warning':
      return `warning: ${e.service}: ${e.message}`;
    case 'runtime':
      if (e.action === 'have') return `runtime: ${e.mac} holds it (from ${e.source}) and serves it`;
      if (e.action === 'failed') return `runtime: ${e.mac} asks again, its source failed (${e.failed})`;
      if (e.action === 'left') return `runtime: ${e.mac} left (loads its OS); no longer a source`;
      if (e.action === 'redirect') return `runtime: ${e.mac} sent to peer ${e.peer}`;
      return `runtime: ${e.mac} served by the server`;
    default:
      // An event type this view does not know yet: --json still carries it.
      return null;
  }
}

/** Options of {@link createView}. */
export interface ViewOptions {
  /** @default 'info' */
  level?: LogLevel;
  /** Prefix plain lines with their syslog priority (`<3>`), as journald reads them. */
  journal?: boolean;
}

/**
 * The live view of `boottorrent start`: on a TTY a table redrawn twice a second (one row per client,
 * swarm totals, server upload rate, why each failed machine failed); otherwise one line per event at
 * or above the log level, without colour or timestamp (journald stamps them), or JSON lines with
 * --json. A machine entering `error` gets its message and the last lines of its console.
 */
export function createView(mode: ViewMode, write: (s: string) => void, opts: ViewOptions = {}) {
  const threshold = LOG_LEVELS.indexOf(opts.level ?? 'info');
  const recent: string[] = [];
  /** Machines in `error` now, with how many of their console lines were printed since. */
  const failing = new Map<string, number>();
  let server: BootServer | undefined;
  let lastUpload = { at: Date.now(), total: 0 };
  let rate = 0;
  let timer: NodeJS.Timeout | undefined;

  const render = () => {
    if (!server) return;
    const clients = server.clients.list();
    const up = server.uploaded();
    const total = up.seeder + up.webSeed;
    const now = Date.now();
    rate = ((total - lastUpload.total) * 1000) / Math.max(1, now - lastUpload.at);
    lastUpload = { at: now, total };
    const t = totals(clients);
    const p1 = server.phase1();
    const rows = clients.map(row);
    const failures = clients
      .filter((c) => c.phase === 'error')
      .flatMap((c) => [
        `${c.mac} failed: ${c.message ?? '(no message)'}`,
        ...server!.logs.tail(c.mac, 3).map((l) => `  | ${l.text}`),
      ]);
    const lines = [
      '\x1b[H\x1b[2J' +
        `BootTorrent — ${clients.length} client${clients.length === 1 ? '' : 's'}   (Ctrl+C stops)`,
      '',
      fmt(['MAC', 'IP', 'FIRMWARE', 'PHASE', 'OS', 'FROM SERVER', 'FROM PEERS', 'RUNTIME FROM']),
      ...rows.map(fmt),
      '',
      `swarm: ${bytes(t.fromServer + t.fromWebSeed)} from the server, ${bytes(t.fromPeers)} from peers` +
        (t.fromServer + t.fromPeers > 0 ? ` (server share ${(t.serverShare * 100).toFixed(0)}%)` : '') +
        `; server uploading ${bytes(rate)}/s, ${bytes(total)} in all`,
      `phase-1: ${bytes(p1.phase1Bytes.loader + p1.phase1Bytes.runtime)} from the server ` +
        `(boot loader ${bytes(p1.phase1Bytes.loader)}, runtime ${bytes(p1.phase1Bytes.runtime)}); ` +
        `runtime copies ${p1.stats.fromServer} from the server, ${p1.stats.fromPeers} from peers; ` +
        `${p1.stats.holders} holder${p1.stats.holders === 1 ? '' : 's'}`,
      '',
      ...(failures.length ? [...failures, ''] : []),
      ...recent,
    ];
    write(lines.join('\n') + '\n');
  };

  const print = (level: LogLevel, line: string) => {
    if (LOG_LEVELS.indexOf(level) > threshold) return;
    if (mode === 'lines') write(`${opts.journal ? `<${PRIORITY[level]}>` : ''}${line}\n`);
    else {
      recent.push(`${new Date().toISOString().slice(11, 19)} ${line}`);
      if (recent.length > 8) recent.shift();
    }
  };
  /** Why a machine failed: its own message, then the last lines of its console. */
  const failed = (mac: string) => {
    const c = server?.clients.get(mac);
    if (c?.message) print('error', `  ${mac} says: ${c.message}`);
    const tail = server?.logs.tail(mac, FAILURE_TAIL) ?? [];
    for (const l of tail) print('error', `  ${mac} | ${l.text}`);
    failing.set(mac, tail.length);
  };

  return {
    attach(s: BootServer) {
      server = s;
      if (mode === 'tty') timer = setInterval(render, 500);
      // Lines the agent sends after its error (they travel apart from the status report) follow it.
      s.logs.on('append', (mac, lines) => {
        const shown = failing.get(mac);
        if (shown === undefined || mode === 'json') return;
        for (const l of lines.slice(0, Math.max(0, FAILURE_TAIL - shown)))
          print('error', `  ${mac} | ${l.text}`);
        failing.set(mac, Math.min(FAILURE_TAIL, shown + lines.length));
      });
    },
    event(e: ServerEvent) {
      if (mode === 'json') {
        write(JSON.stringify({ time: new Date().toISOString(), ...e }) + '\n');
        return;
      }
      const line = eventLine(e);
      if (line !== null) print(eventLevel(e), line);
      if (e.type !== 'client') return;
      if (e.phase !== 'error') failing.delete(e.mac);
      else if (!failing.has(e.mac)) failed(e.mac);
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}

function row(c: ClientInfo): string[] {
  const phase =
    c.phase === 'downloading' && c.progress !== undefined
      ? `downloading ${Math.round(c.progress * 100)}%`
      : c.phase;
  return [
    c.mac,
    c.ip ?? '-',
    c.firmware ?? '-',
    phase,
    c.os ?? '-',
    bytes(c.bytesFromServer + c.bytesFromWebSeed),
    bytes(c.bytesFromPeers),
    c.runtimeSource ?? '-',
  ];
}

const WIDTHS = [18, 16, 10, 18, 12, 12, 12, 30];
function fmt(cols: string[]): string {
  return cols.map((c, i) => c.padEnd(WIDTHS[i] ?? 10)).join(' ');
}
