import { ClientLogs, ClientTable, type BootServer, type ServerEvent } from '@boottorrent/server';
import { describe, expect, it, vi } from 'vitest';
import { createView, FAILURE_TAIL } from './view.js';

/** The parts of a BootServer the view reads: a real client table and log ring. */
function fakeServer() {
  const clients = new ClientTable();
  const logs = new ClientLogs();
  const server = {
    clients,
    logs,
    uploaded: () => ({ seeder: 0, webSeed: 0 }),
    phase1: () => ({
      phase1Bytes: { loader: 0, runtime: 0 },
      stats: { fromServer: 0, fromPeers: 0, holders: 0 },
    }),
  } as unknown as BootServer;
  return { clients, logs, server };
}

const clientEvent = (clients: ClientTable, mac: string): ServerEvent => {
  const c = clients.get(mac)!;
  return { type: 'client', mac, why: 'status', phase: c.phase, ip: c.ip, os: c.os, ...bytes(c) };
};
const bytes = (c: { bytesFromServer: number; bytesFromPeers: number; bytesFromWebSeed: number }) => ({
  bytesFromServer: c.bytesFromServer,
  bytesFromPeers: c.bytesFromPeers,
  bytesFromWebSeed: c.bytesFromWebSeed,
});

describe('createView, plain lines', () => {
  it('prints one line per event with no timestamp and no colour', () => {
    const out: string[] = [];
    const view = createView('lines', (s) => out.push(s));
    view.event({ type: 'listening', service: 'http', address: '10.0.0.1', port: 8080 });
    view.event({ type: 'warning', service: 'tracker', message: 'bad announce' });
    expect(out).toEqual(['http listening on 10.0.0.1:8080\n', 'warning: tracker: bad announce\n']);
  });

  it('leaves out what is below the log level', () => {
    const http: ServerEvent = {
      type: 'http',
      method: 'GET',
      path: '/boot.ipxe',
      status: 200,
      bytes: 9,
      remote: '10.0.0.5',
    };
    const info: string[] = [];
    createView('lines', (s) => info.push(s)).event(http);
    expect(info).toEqual([]);
    const debug: string[] = [];
    createView('lines', (s) => debug.push(s), { level: 'debug' }).event(http);
    expect(debug).toEqual(['http 200 GET /boot.ipxe to 10.0.0.5 (9 B)\n']);
    const errors: string[] = [];
    const v = createView('lines', (s) => errors.push(s), { level: 'error' });
    v.event({ type: 'warning', service: 'seeder', message: 'x' });
    expect(errors).toEqual([]);
  });

  it('prefixes each line with its syslog priority for journald', () => {
    const out: string[] = [];
    const view = createView('lines', (s) => out.push(s), { journal: true });
    view.event({ type: 'listening', service: 'tftp', address: '10.0.0.1', port: 69 });
    view.event({ type: 'warning', service: 'tracker', message: 'm' });
    expect(out).toEqual(['<6>tftp listening on 10.0.0.1:69\n', '<4>warning: tracker: m\n']);
  });

  it('says why a machine failed: its message, then the last lines of its console, also those that come later', () => {
    const { clients, logs, server } = fakeServer();
    const out: string[] = [];
    const view = createView('lines', (s) => out.push(s), { level: 'error' });
    view.attach(server);
    const mac = '52:54:00:00:00:01';
    logs.append(mac, ['Booting Demo', 'Downloading Demo']);
    clients.report(mac, { phase: 'error', os: 'demo', message: 'download stalled for 60 s' });
    view.event(clientEvent(clients, mac));
    logs.append(
      mac,
      Array.from({ length: FAILURE_TAIL + 5 }, (_, i) => `later ${i}`),
    );
    view.event(clientEvent(clients, mac)); // the same error again: not repeated
    view.stop();
    expect(out).toEqual([
      `client ${mac}  error demo (status)\n`,
      `  ${mac} says: download stalled for 60 s\n`,
      `  ${mac} | Booting Demo\n`,
      `  ${mac} | Downloading Demo\n`,
      ...Array.from({ length: FAILURE_TAIL - 2 }, (_, i) => `  ${mac} | later ${i}\n`),
      `client ${mac}  error demo (status)\n`,
    ]);
  });
});

describe('createView, on a terminal', () => {
  it('lists each failed machine under the table with its message and last console lines', () => {
    vi.useFakeTimers();
    try {
      const { clients, logs, server } = fakeServer();
      const screens: string[] = [];
      const view = createView('tty', (s) => screens.push(s));
      view.attach(server);
      const mac = '52:54:00:00:00:02';
      logs.append(mac, ['one', 'two', 'three', 'four']);
      clients.report(mac, { phase: 'error', os: 'demo', message: 'no peer sent data for 60 s' });
      vi.advanceTimersByTime(500);
      view.stop();
      const screen = screens.at(-1)!;
      expect(screen).toContain(`${mac} failed: no peer sent data for 60 s\n  | two\n  | three\n  | four\n`);
    } finally {
      vi.useRealTimers();
    }
  });
});
