import { closeSync, fstatSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ServerEvent } from './events.js';
import {
  eventSeverity,
  formatBytes,
  formatEvent,
  isJournalStream,
  LOG_LEVELS,
  SYSLOG_PRIORITY,
} from './format.js';

const MAC = '52:54:00:77:00:10';
const client = (
  phase: string,
  more: Partial<Extract<ServerEvent, { type: 'client' }>> = {},
): ServerEvent => ({
  type: 'client',
  mac: MAC,
  ip: '10.77.0.100',
  phase,
  why: 'status',
  bytesFromServer: 0,
  bytesFromPeers: 0,
  bytesFromWebSeed: 0,
  ...more,
});

describe('formatBytes', () => {
  it('prints whole bytes below 1 KiB and one decimal in the largest unit above', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1024)).toBe('1.0 KiB');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(24 * 1024 * 1024)).toBe('24.0 MiB');
    expect(formatBytes(3 * 1024 ** 3 + 512 * 1024 ** 2)).toBe('3.5 GiB');
    expect(formatBytes(2 * 1024 ** 4)).toBe('2.0 TiB');
  });
});

describe('formatEvent and eventSeverity', () => {
  it('says where a service listens, at info', () => {
    const e: ServerEvent = { type: 'listening', service: 'tftp', address: '10.77.0.1', port: 69 };
    expect(formatEvent(e)).toBe('tftp listening on 10.77.0.1:69');
    expect(eventSeverity(e)).toBe('info');
  });

  it('logs an acknowledged lease at info and the other DHCP steps at debug', () => {
    const ack: ServerEvent = { type: 'lease', kind: 'acked', mac: MAC, ip: '10.77.0.100' };
    expect(formatEvent(ack)).toBe('dhcp acked 10.77.0.100 to 52:54:00:77:00:10');
    expect(eventSeverity(ack)).toBe('info');
    expect(eventSeverity({ ...ack, kind: 'offered' })).toBe('debug');
  });

  it('names the boot loader a machine is sent to, with its firmware', () => {
    const e: ServerEvent = {
      type: 'boot',
      mac: MAC,
      firmware: 'bios',
      loader: 'undionly.kpxe',
      message: 'offer',
    };
    expect(formatEvent(e)).toBe('dhcp offer: 52:54:00:77:00:10 (bios) gets undionly.kpxe');
    expect(eventSeverity(e)).toBe('info');
  });

  it('prints a finished TFTP transfer with its size and time, a failed one at warn, and not its start', () => {
    const end: ServerEvent = {
      type: 'tftp',
      kind: 'end',
      client: '10.77.0.100:2070',
      file: 'undionly.kpxe',
      bytes: 70 * 1024,
      ms: 12,
    };
    expect(formatEvent(end)).toBe('tftp end undionly.kpxe to 10.77.0.100:2070 (70.0 KiB in 12 ms)');
    expect(eventSeverity(end)).toBe('info');
    const error: ServerEvent = {
      type: 'tftp',
      kind: 'error',
      client: '10.77.0.100:2070',
      file: 'nope',
      error: 'File not found',
    };
    expect(formatEvent(error)).toBe('tftp error nope to 10.77.0.100:2070: File not found');
    expect(eventSeverity(error)).toBe('warn');
    expect(formatEvent({ type: 'tftp', kind: 'start', client: '10.77.0.100:2070', file: 'x' })).toBeNull();
  });

  it('logs HTTP requests at debug, server errors at warn, and leaves out the status API', () => {
    const get: ServerEvent = {
      type: 'http',
      method: 'GET',
      path: '/phase1/initrd',
      status: 206,
      bytes: 2048,
      remote: '10.77.0.100',
    };
    expect(formatEvent(get)).toBe('http 206 GET /phase1/initrd to 10.77.0.100 (2.0 KiB)');
    expect(eventSeverity(get)).toBe('debug');
    expect(eventSeverity({ ...get, status: 503 })).toBe('warn');
    expect(formatEvent({ ...get, method: 'POST', path: '/api/v1/status' })).toBeNull();
  });

  it("prints a client's phase, its download share while downloading, its OS and why; an error at error", () => {
    expect(formatEvent(client('downloading', { os: 'debian', progress: 0.416 }))).toBe(
      'client 52:54:00:77:00:10 10.77.0.100 downloading 42% debian (status)',
    );
    expect(formatEvent(client('menu', { progress: 0.5 }))).toBe(
      'client 52:54:00:77:00:10 10.77.0.100 menu (status)',
    );
    expect(eventSeverity(client('menu'))).toBe('info');
    expect(eventSeverity(client('error'))).toBe('error');
  });

  it('warns of a boot client the server cannot serve, with the reason in the line; foreign DHCP is debug', () => {
    const refused = (reason: string): ServerEvent => ({
      type: 'refused',
      service: 'dhcp',
      client: MAC,
      reason,
    });
    for (const reason of [
      'arch-unsupported: arm64 UEFI (arch 11), phase-1 is x86_64',
      'loader-missing: 32-bit UEFI (arch 6) needs ipxe-i386.efi, which this server does not have',
      'unknown-subnet: relayed by 10.79.0.1, which is in no configured subnet',
      'pool-exhausted',
      'plan-error: machines.state.json names an OS that is gone',
    ])
      expect(eventSeverity(refused(reason)), reason).toBe('warn');
    expect(formatEvent(refused('pool-exhausted'))).toBe('dhcp refused 52:54:00:77:00:10: pool-exhausted');
    expect(eventSeverity(refused('not-boot-client'))).toBe('debug');
    const tftp: ServerEvent = {
      type: 'refused',
      service: 'tftp',
      client: '10.77.0.9:1234',
      file: '../etc/passwd',
      reason: 'outside the root',
    };
    expect(formatEvent(tftp)).toBe('tftp refused 10.77.0.9:1234 ../etc/passwd: outside the root');
    expect(eventSeverity(tftp)).toBe('info');
  });

  it('prints warnings with their service, at warn', () => {
    const e: ServerEvent = { type: 'warning', service: 'seeder', message: 'no peers yet' };
    expect(formatEvent(e)).toBe('warning: seeder: no peers yet');
    expect(eventSeverity(e)).toBe('warn');
  });

  it("tells where each machine's phase-1 runtime comes from; a failed source at warn", () => {
    const r = (action: Extract<ServerEvent, { type: 'runtime' }>['action'], more = {}): ServerEvent => ({
      type: 'runtime',
      action,
      mac: MAC,
      ...more,
    });
    expect(formatEvent(r('server'))).toBe('runtime: 52:54:00:77:00:10 served by the server');
    expect(formatEvent(r('redirect', { peer: '52:54:00:77:00:11' }))).toBe(
      'runtime: 52:54:00:77:00:10 sent to peer 52:54:00:77:00:11',
    );
    expect(formatEvent(r('have', { source: 'server' }))).toBe(
      'runtime: 52:54:00:77:00:10 holds it (from server) and serves it',
    );
    expect(formatEvent(r('failed', { failed: 'timeout' }))).toBe(
      'runtime: 52:54:00:77:00:10 asks again, its source failed (timeout)',
    );
    expect(formatEvent(r('left'))).toBe('runtime: 52:54:00:77:00:10 left (loads its OS); no longer a source');
    expect([r('server'), r('redirect'), r('have'), r('failed'), r('left')].map(eventSeverity)).toEqual([
      'debug',
      'debug',
      'info',
      'warn',
      'info',
    ]);
  });

  it('prints no line for an event type it does not know, and gives it info', () => {
    const future = { type: 'future', mac: MAC } as unknown as ServerEvent;
    expect(formatEvent(future)).toBeNull();
    expect(eventSeverity(future)).toBe('info');
  });
});

describe('LOG_LEVELS and SYSLOG_PRIORITY', () => {
  it('orders the levels from most to least severe, with the syslog numbers of RFC 5424', () => {
    expect(LOG_LEVELS).toEqual(['error', 'warn', 'info', 'debug']);
    expect(LOG_LEVELS.map((l) => SYSLOG_PRIORITY[l])).toEqual([3, 4, 6, 7]);
  });
});

describe('isJournalStream', () => {
  it('is true only for the file JOURNAL_STREAM names by device and inode', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bt-journal-'));
    const a = openSync(join(dir, 'a'), 'w');
    const b = openSync(join(dir, 'b'), 'w');
    try {
      const st = fstatSync(a);
      const env = { JOURNAL_STREAM: `${st.dev}:${st.ino}` };
      expect(isJournalStream(a, env)).toBe(true);
      expect(isJournalStream(b, env)).toBe(false);
      expect(isJournalStream(a, {})).toBe(false);
      expect(isJournalStream(a, { JOURNAL_STREAM: `${st.dev}` })).toBe(false);
      closeSync(b);
      expect(isJournalStream(b, env)).toBe(false); // a closed descriptor
    } finally {
      closeSync(a);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
