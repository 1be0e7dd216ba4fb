import { CLIENT_PHASES } from '@boottorrent/config';
import type { Monitor } from './monitor.js';

/** The content type of the Prometheus text exposition format, version 0.0.4. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const LEASE_KINDS = ['offered', 'acked', 'nak', 'released', 'declined'];
const IGNORE_REASONS = [
  'not-boot-client',
  'no-plan',
  'other-server',
  'pool-exhausted',
  'unknown-subnet',
  'plan-error',
  'arch-unsupported',
  'loader-missing',
];
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS']);

type Labels = Record<string, string | number>;

/** A label value escaped as the text format wants it (backslash, double quote, line feed). */
function esc(v: string | number): string {
  return String(v).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/**
 * The boot server's metrics in the Prometheus text format: clients by phase, bytes by source, DHCP
 * leases and ignored requests by reason, TFTP transfers, HTTP requests by route, tracker announces,
 * seeder and web seed upload, phase-1 bytes. Label values are bounded sets (route names, phases, OS
 * names), never what a client sent.
 */
export function renderMetrics(m: Monitor): string {
  const out: string[] = [];
  const family = (name: string, type: 'counter' | 'gauge', help: string, samples: [Labels, number][]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      const l = Object.entries(labels)
        .map(([k, v]) => `${k}="${esc(v)}"`)
        .join(',');
      out.push(`${name}${l ? `{${l}}` : ''} ${Number.isFinite(value) ? value : 0}`);
    }
  };
  const clients = m.clients.list();
  const c = m.counters;

  family('boottorrent_start_time_seconds', 'gauge', 'When the boot server started (Unix time).', [
    [{}, m.started / 1000],
  ]);
  family(
    'boottorrent_clients',
    'gauge',
    'Machines the server knows, by boot phase.',
    CLIENT_PHASES.map((p) => [{ phase: p }, clients.filter((x) => x.phase === p).length]),
  );
  const sum = (f: (x: (typeof clients)[number]) => number) => clients.reduce((a, x) => a + f(x), 0);
  family('boottorrent_client_received_bytes', 'gauge', 'Bytes of OS the machines report, by source.', [
    [{ source: 'server' }, sum((x) => x.bytesFromServer)],
    [{ source: 'peers' }, sum((x) => x.bytesFromPeers)],
    [{ source: 'webseed' }, sum((x) => x.bytesFromWebSeed)],
  ]);
  family('boottorrent_client_uploaded_bytes', 'gauge', 'Bytes the machines report uploading to peers.', [
    [{}, sum((x) => x.bytesUploaded)],
  ]);

  const dhcp = m.services.dhcp?.stats();
  family('boottorrent_dhcp_received_packets_total', 'counter', 'DHCP packets received.', [
    [{}, dhcp?.received ?? 0],
  ]);
  family('boottorrent_dhcp_replied_packets_total', 'counter', 'DHCP replies sent.', [
    [{}, dhcp?.replied ?? 0],
  ]);
  family(
    'boottorrent_dhcp_leases_total',
    'counter',
    'DHCP lease events: offers, acks, naks, releases, declines.',
    LEASE_KINDS.map((k) => [{ kind: k }, c.lease.get(k) ?? 0]),
  );
  family(
    'boottorrent_dhcp_ignored_total',
    'counter',
    'Valid DHCP requests not answered, by reason.',
    [...new Set([...IGNORE_REASONS, ...c.dhcpIgnored.keys()])].map((r) => [
      { reason: r },
      c.dhcpIgnored.get(r) ?? 0,
    ]),
  );
  family(
    'boottorrent_dhcp_dropped_total',
    'counter',
    'DHCP packets dropped as malformed or not for us, by reason.',
    Object.entries(dhcp?.droppedByReason ?? {}).map(([r, n]) => [{ reason: r }, n]),
  );

  const tftp = m.services.tftp?.stats();
  family('boottorrent_tftp_transfers_total', 'counter', 'TFTP transfers, by result.', [
    [{ result: 'started' }, tftp?.started ?? 0],
    [{ result: 'completed' }, tftp?.completed ?? c.tftp.completed],
    [{ result: 'failed' }, tftp?.failed ?? c.tftp.failed],
  ]);
  family(
    'boottorrent_tftp_refused_total',
    'counter',
    'TFTP requests refused (not found, outside the root).',
    [[{}, tftp?.refused ?? 0]],
  );
  family('boottorrent_tftp_active_transfers', 'gauge', 'TFTP transfers running now.', [
    [{}, tftp?.active ?? 0],
  ]);
  family('boottorrent_tftp_sent_bytes_total', 'counter', 'Bytes sent over TFTP.', [
    [{}, tftp?.bytesSent ?? 0],
  ]);

  family(
    'boottorrent_http_requests_total',
    'counter',
    'HTTP requests answered, by route, method and status code.',
    [...c.http].map(([key, n]) => {
      const [route, method, code] = key.split('\0') as [string, string, string];
      return [{ route, method: METHODS.has(method) ? method : 'other', code }, n];
    }),
  );
  family(
    'boottorrent_phase1_sent_bytes_total',
    'counter',
    'Bytes of phase-1 the server sent: the loader part (kernel, initrds) by protocol, and the runtime.',
    [
      [{ via: 'http', part: 'loader' }, c.phase1Bytes.http],
      [{ via: 'tftp', part: 'loader' }, c.phase1Bytes.tftp],
      [{ via: 'http', part: 'runtime' }, c.phase1Bytes.runtime],
    ],
  );
  const up = m.uploaded();
  family('boottorrent_webseed_sent_bytes_total', 'counter', 'Bytes the HTTP web seed (BEP 19) sent.', [
    [{}, up.webSeed],
  ]);

  const oss = m.oss();
  family('boottorrent_tracker_announces_total', 'counter', 'Announces the tracker accepted.', [
    [{}, c.trackerAnnounces],
  ]);
  family(
    'boottorrent_swarm_peers',
    'gauge',
    'Peers the tracker knows per OS, by role.',
    oss.flatMap((o) => [
      [{ os: o.name, role: 'seeder' }, o.seeders] as [Labels, number],
      [{ os: o.name, role: 'leecher' }, o.leechers] as [Labels, number],
    ]),
  );
  family(
    'boottorrent_seeder_uploaded_bytes_total',
    'counter',
    "Bytes the server's BitTorrent seeder sent, per OS.",
    oss.map((o) => [{ os: o.name }, o.uploaded]),
  );
  family(
    'boottorrent_reports_refused_total',
    'counter',
    'Agent status and log reports refused, by reason (rate limit, address not leased to that MAC).',
    [
      [{ reason: 'rate' }, m.guard.refused.rate],
      [{ reason: 'lease' }, m.guard.refused.lease],
    ],
  );
  return out.join('\n') + '\n';
}
