import { MILESTONES, type LabSummary } from '@boottorrent/lab';
import { formatBytes as bytes } from '@boottorrent/server';

/** The printed report: one row per VM with its milestones, then the byte split. */
export function formatSummary(s: LabSummary): string {
  const head = ['vm', 'mac', ...MILESTONES, 'result'];
  const rows = s.vms.map((v) => [
    String(v.index),
    v.mac,
    ...MILESTONES.map((m) => (v.marks[m] === undefined ? '-' : `${v.marks[m]!.toFixed(1)}s`)),
    v.ok ? 'OS booted' : v.killed ? 'killed (fault)' : `FAILED${v.error ? `: ${v.error}` : ''}`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  const split = [
    `OS bytes received: ${bytes(s.fromServer)} from the server's seeder, ${bytes(s.fromPeers)} from peers, ${bytes(s.fromWebSeed)} from the web seed`,
    `server share: ${(s.serverShare * 100).toFixed(1)}%`,
    `phase-1 runtime: ${s.runtime.fromServer} from the server, ${s.runtime.fromPeers} from peers` +
      s.vms
        .filter((v) => v.runtimeFrom)
        .map((v) => `; vm${v.index} from ${v.runtimeFrom}`)
        .join(''),
  ];
  return [line(head), ...rows.map(line), '', ...split].join('\n');
}
