import type { BuiltOut } from './build.js';
import { describe, expect, it } from 'vitest';
import { ClientTable } from './clients.js';
import type { ServerEvent } from './events.js';
import { renderMetrics } from './metrics.js';
import { Monitor, routeLabel } from './monitor.js';

const out = { torrents: [] } as unknown as BuiltOut;
const http = (path: string, status: number, bytes: number): ServerEvent => ({
  type: 'http',
  method: 'GET',
  path,
  status,
  bytes,
  remote: '10.0.0.5',
});

describe('Monitor', () => {
  it('counts phase-1 bytes: the loader by protocol, the runtime only when the server sent it', () => {
    const m = new Monitor(new ClientTable(), out);
    m.onEvent(http('/phase1/vmlinuz', 200, 8_000_000));
    m.onEvent(http('/phase1/base.cpio.xz', 206, 1000));
    m.onEvent(http('/runtime/runtime.cpio.xz?mac=52:54:00:00:00:01', 200, 30_000_000));
    m.onEvent(http('/runtime/runtime.cpio.xz?mac=52:54:00:00:00:02', 302, 0)); // sent to a peer
    m.onEvent({
      type: 'tftp',
      kind: 'end',
      client: '10.0.0.6',
      file: 'phase1/vmlinuz',
      bytes: 8_000_000,
      ms: 1,
    });
    m.onEvent({ type: 'tftp', kind: 'end', client: '10.0.0.6', file: 'undionly.kpxe', bytes: 70_000, ms: 1 });
    expect(m.counters.phase1Bytes).toEqual({ http: 8_001_000, tftp: 8_000_000, runtime: 30_000_000 });
    const text = renderMetrics(m);
    expect(text).toContain('boottorrent_phase1_sent_bytes_total{via="http",part="runtime"} 30000000\n');
    expect(text).toContain('boottorrent_http_requests_total{route="runtime",method="GET",code="302"} 1\n');
  });

  it('labels routes from a fixed set, never with what the client sent', () => {
    expect(
      [
        '/',
        '/boot.ipxe?mac=x',
        '/snponly.efi',
        '/api/v1/clients/52:54:00:00:00:01/status',
        '/api/v1/clients/x/log',
        '/api/v1/machines/x',
        '/api/v1/runtime',
        '/api/v1/events',
        '/api/v1/<script>',
        '/etc/passwd',
      ].map(routeLabel),
    ).toEqual([
      'dashboard',
      'boot_ipxe',
      'boot_loader',
      'api_status',
      'api_log',
      'api_machines',
      'api_runtime',
      'api_events',
      'api_other',
      'other',
    ]);
  });

  it('keeps a download rate per machine from its reports, and 0 once it stops downloading', () => {
    let now = 0;
    const clients = new ClientTable(() => now);
    const m = new Monitor(clients, out, () => now);
    const mac = '52:54:00:00:00:01';
    clients.report(mac, { phase: 'downloading', bytesFromServer: 0 });
    now = 1000;
    clients.report(mac, { phase: 'downloading', bytesFromServer: 1_000_000, bytesFromPeers: 1_000_000 });
    expect(m.rate(mac)).toBe(1_000_000); // half of 0 and half of 2 MB/s
    now = 2000;
    clients.report(mac, { phase: 'seeding', bytesFromServer: 1_000_000, bytesFromPeers: 3_000_000 });
    expect(m.rate(mac)).toBe(0);
  });
});
