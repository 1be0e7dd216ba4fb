import {
  eventSeverity,
  formatBytes,
  formatEvent,
  LOG_LEVELS,
  SYSLOG_PRIORITY,
  totals,
  type BootServer,
  type ClientInfo,
  type LogLevel,
  type ServerEvent,
} from '@boottorrent/server';

export type ViewMode = 'tty' | 'lines' | 'json';

/** Console lines of a failed machine printed under its error. */
export const FAILURE_TAIL = 10;

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
      `swarm: ${formatBytes(t.fromServer + t.fromWebSeed)} from the server, ${formatBytes(t.fromPeers)} from peers` +
        (t.fromServer + t.fromPeers > 0 ? ` (server share ${(t.serverShare * 100).toFixed(0)}%)` : '') +
        `; server uploading ${formatBytes(rate)}/s, ${formatBytes(total)} in all`,
      `phase-1: ${formatBytes(p1.phase1Bytes.loader + p1.phase1Bytes.runtime)} from the server ` +
        `(boot loader ${formatBytes(p1.phase1Bytes.loader)}, runtime ${formatBytes(p1.phase1Bytes.runtime)}); ` +
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
    if (mode === 'lines') write(`${opts.journal ? `<${SYSLOG_PRIORITY[level]}>` : ''}${line}\n`);
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
      const line = formatEvent(e);
      if (line !== null) print(eventSeverity(e), line);
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
    formatBytes(c.bytesFromServer + c.bytesFromWebSeed),
    formatBytes(c.bytesFromPeers),
    c.runtimeSource ?? '-',
  ];
}

const WIDTHS = [18, 16, 10, 18, 12, 12, 12, 30];
function fmt(cols: string[]): string {
  return cols.map((c, i) => c.padEnd(WIDTHS[i] ?? 10)).join(' ');
}
