import { totals, type BootServer, type ClientInfo, type ServerEvent } from '@boottorrent/server';

export type ViewMode = 'tty' | 'lines' | 'json';

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
  }
}

/**
 * The live view of `boottorrent start`: on a TTY a table redrawn twice a second (one row per client,
 * swarm totals, server upload rate); otherwise one line per event, or JSON lines with --json.
 */
export function createView(mode: ViewMode, write: (s: string) => void) {
  const recent: string[] = [];
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
    const rows = clients.map(row);
    const lines = [
      '\x1b[H\x1b[2J' +
        `BootTorrent — ${clients.length} client${clients.length === 1 ? '' : 's'}   (Ctrl+C stops)`,
      '',
      fmt(['MAC', 'IP', 'FIRMWARE', 'PHASE', 'OS', 'FROM SERVER', 'FROM PEERS']),
      ...rows.map(fmt),
      '',
      `swarm: ${bytes(t.fromServer + t.fromWebSeed)} from the server, ${bytes(t.fromPeers)} from peers` +
        (t.fromServer + t.fromPeers > 0 ? ` (server share ${(t.serverShare * 100).toFixed(0)}%)` : '') +
        `; server uploading ${bytes(rate)}/s, ${bytes(total)} in all`,
      '',
      ...recent,
    ];
    write(lines.join('\n') + '\n');
  };

  return {
    attach(s: BootServer) {
      server = s;
      if (mode === 'tty') timer = setInterval(render, 500);
    },
    event(e: ServerEvent) {
      if (mode === 'json') {
        write(JSON.stringify({ time: new Date().toISOString(), ...e }) + '\n');
        return;
      }
      const line = eventLine(e);
      if (line === null) return;
      const stamped = `${new Date().toISOString().slice(11, 19)} ${line}`;
      if (mode === 'lines') write(stamped + '\n');
      else {
        recent.push(stamped);
        if (recent.length > 8) recent.shift();
      }
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
  ];
}

const WIDTHS = [18, 16, 10, 18, 12, 12, 12];
function fmt(cols: string[]): string {
  return cols.map((c, i) => c.padEnd(WIDTHS[i] ?? 10)).join(' ');
}
