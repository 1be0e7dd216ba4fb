// One log line and one severity per ServerEvent, for any tool that embeds the server and keeps a
// plain log (`boottorrent start` without a terminal prints exactly these lines).
import { fstatSync } from 'node:fs';
import type { ServerEvent } from './events.js';

/** Severities of a log line, most severe first; a log shows those at or above its threshold. */
export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * The syslog priority of each level (RFC 5424 §6.2.1: 3 error, 4 warning, 6 informational, 7 debug),
 * for the `<N>` prefix journald reads and strips from a service's stdout lines.
 */
export const SYSLOG_PRIORITY: Readonly<Record<LogLevel, number>> = { error: 3, warn: 4, info: 6, debug: 7 };

/**
 * Whether `fd` is journald's stream: systemd sets JOURNAL_STREAM to its `<device>:<inode>` for a
 * service's stdout and stderr, so a line there may start with its {@link SYSLOG_PRIORITY}, `<3>`,
 * which journald reads and strips. False when the variable is unset or `fd` was redirected since.
 * @default fd 1 (stdout)
 */
export function isJournalStream(fd = 1, env: NodeJS.ProcessEnv = process.env): boolean {
  const m = /^(\d+):(\d+)$/.exec(env.JOURNAL_STREAM ?? '');
  if (!m) return false;
  try {
    const st = fstatSync(fd);
    return String(st.dev) === m[1] && String(st.ino) === m[2];
  } catch {
    return false;
  }
}

/** How much an event matters: a failed machine is an error, the per-request HTTP log is debug. */
export function eventSeverity(e: ServerEvent): LogLevel {
  switch (e.type) {
    case 'warning':
      return 'warn';
    case 'runtime':
      return e.action === 'failed' ? 'warn' : e.action === 'have' || e.action === 'left' ? 'info' : 'debug';
    case 'seeder-yield':
      return 'debug';
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

/** 1.5 MiB: bytes for people, in powers of 1024 with one decimal (whole bytes below 1 KiB). */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i ? n.toFixed(1) : String(n)} ${units[i]}`;
}

/**
 * One line for a person per event, without timestamp or colour; `null` for events not worth a line
 * (a TFTP transfer's start, the status API's own requests, a type added after this function).
 */
export function formatEvent(e: ServerEvent): string | null {
  switch (e.type) {
    case 'listening':
      return `${e.service} listening on ${e.address}:${e.port}`;
    case 'lease':
      return `dhcp ${e.kind} ${e.ip} to ${e.mac}`;
    case 'boot':
      return `dhcp ${e.message}: ${e.mac} (${e.firmware}) gets ${e.loader}`;
    case 'tftp':
      if (e.kind === 'start') return null;
      return `tftp ${e.kind} ${e.file ?? ''} to ${e.client}${e.bytes !== undefined ? ` (${formatBytes(e.bytes)} in ${e.ms} ms)` : ''}${e.error ? `: ${e.error}` : ''}`;
    case 'http':
      if (e.path.startsWith('/api/')) return null;
      return `http ${e.status} ${e.method} ${e.path} to ${e.remote} (${formatBytes(e.bytes)})`;
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
    case 'seeder-yield':
      return e.action === 'capped'
        ? `seeder capped at ${formatBytes(e.bytesPerSecond ?? 0)}/s while phase-1 is sent`
        : 'seeder cap lifted: phase-1 idle';
    default:
      // An event type added later: JSON logs still carry it.
      return null;
  }
}
