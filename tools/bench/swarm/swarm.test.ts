// The swarm benchmark's quick mode, end to end on a tiny image (N = 2, 4 MiB, ~25 s), plus the pure
// parts. Needs root (network namespaces, tc) and the built @boottorrent/seeder and @boottorrent/tracker.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { clientServerTime, kumarRossBound } from './bound.ts';
import { markdownTable, svgPlot, type RunConfig } from './report.ts';
import type { ScenarioResult } from './scenarios.ts';

const run = promisify(execFile);
const MIB = 1024 * 1024;

describe('Kumar–Ross bound', () => {
  const base = { fileBytes: 64 * MIB, serverUpBps: 20e6, clientUpBps: 20e6, clientDownBps: 20e6 };
  it('is the download time of one copy when the peers can carry the rest', () => {
    const b = kumarRossBound({ ...base, clients: 16 });
    expect(b.seconds).toBeCloseTo((64 * MIB * 8) / 20e6, 6);
  });
  it('becomes the total-upload term when the clients upload slowly', () => {
    const b = kumarRossBound({ ...base, clients: 16, clientUpBps: 5e6 });
    expect(b.limit).toBe('total');
    expect(b.seconds).toBeCloseTo((16 * 64 * MIB * 8) / (20e6 + 16 * 5e6), 6);
  });
  it('makes client-server N times slower than one copy', () => {
    expect(clientServerTime({ ...base, clients: 8 })).toBeCloseTo((8 * 64 * MIB * 8) / 20e6, 6);
  });
});

describe('report', () => {
  const cfg: RunConfig = {
    ns: [2, 4],
    imageBytes: 8 * MIB,
    clientMbit: 20,
    serverMbit: 20,
    methods: ['boottorrent', 'http'],
    command: 'node tools/bench/swarm/swarm.ts --quick',
    date: '2026-11-29T23:00:00.000Z',
  };
  const r = (method: ScenarioResult['method'], n: number, last: number): ScenarioResult => ({
    method,
    n,
    ok: true,
    times: [last],
    last,
    median: last,
    serverTxBytes: n * cfg.imageBytes,
    cpuSeconds: 1,
    machineBusy: 0.5,
    extra: {},
  });
  const rows = [2, 4].map((n) => ({
    n,
    bound: 3.4,
    boundLimit: 'download',
    by: { boottorrent: r('boottorrent', n, 4), http: r('http', n, 3.4 * n) },
  }));
  it('writes one table row per N with the speed-up over HTTP', () => {
    const table = markdownTable(cfg, rows).split('\n');
    expect(table).toHaveLength(4);
    expect(table[3]).toContain('| 4 | 3.4 | 4.0 / 4.0 |');
    expect(table[3]).toContain('| 3.40 |'); // 13.6 s / 4 s
  });
  it('draws a standalone SVG with a polyline per measured method', () => {
    const svg = svgPlot(cfg, rows);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.match(/<path /g)).toHaveLength(3); // BootTorrent, HTTP, bound
  });
});

describe('swarm benchmark, quick mode', () => {
  it('runs all four methods on a shaped namespace network and cleans up', async () => {
    expect(process.getuid?.(), 'needs root: network namespaces and tc').toBe(0);
    const dir = mkdtempSync(join(tmpdir(), 'btsw-test-'));
    const allowedCc = '/proc/sys/net/ipv4/tcp_allowed_congestion_control';
    const allowedBefore = readFileSync(allowedCc, 'utf8');
    try {
      const json = join(dir, 'r.json');
      await run(
        process.execPath,
        [join(import.meta.dirname, 'swarm.ts'), '--quick', '--n', '2', '--size-mib', '4', '--json', json],
        {
          timeout: 85_000,
        },
      );
      const { results, labId, config } = JSON.parse(readFileSync(json, 'utf8')) as {
        results: ScenarioResult[];
        labId: string;
        config: RunConfig;
      };
      // Both ends run cubic (phase-1's and stock Debian's), read back from the namespaces by the lab;
      // the host's allowed list, extended for the run if needed, is restored.
      expect([config.clientCongestion, config.serverCongestion]).toEqual(['cubic', 'cubic']);
      expect(readFileSync(allowedCc, 'utf8')).toBe(allowedBefore);
      expect(results.map((x) => [x.method, x.ok, x.error])).toEqual([
        ['boottorrent', true, undefined],
        ['http', true, undefined],
        ['original', true, undefined],
        ['proto', true, undefined],
      ]);
      const F = 4 * MIB;
      const http = results.find((x) => x.method === 'http')!;
      // The shaping works: two copies through a 20 Mbit/s server link cannot be faster than this.
      expect(http.last).toBeGreaterThan((0.95 * 2 * F * 8) / 20e6);
      expect(http.serverTxBytes / F).toBeGreaterThan(1.95);
      for (const x of results) expect(x.times).toHaveLength(2);
      const { stdout } = await run('ip', ['netns', 'list']);
      expect(labId).toMatch(/^[0-9a-f]{6}$/);
      expect(stdout).not.toContain(`btsw-${labId}-`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('mesh: the network ceiling', () => {
  it('measures what a full TCP mesh of 3 clients carries on the shaped links and cleans up', async () => {
    expect(process.getuid?.(), 'needs root: network namespaces and tc').toBe(0);
    const { stdout } = await run(
      process.execPath,
      [join(import.meta.dirname, 'mesh.ts'), '--n', '3', '--seconds', '6', '--client-mbit', '20'],
      { timeout: 60_000 },
    );
    const m = /received per host ([\d.]+) MiB\/s mean .* = (\d+)% of the link/.exec(stdout);
    expect(m, stdout).not.toBeNull();
    // 20 Mbit/s is 2.38 MiB/s: the tbf shaping holds (never above) and TCP fills most of it.
    expect(Number(m![1])).toBeLessThan(2.45);
    expect(Number(m![2])).toBeGreaterThan(60);
    const labId = /lab ([0-9a-f]{6})/.exec(stdout)?.[1];
    expect(labId).toBeDefined();
    expect((await run('ip', ['netns', 'list'])).stdout).not.toContain(`btsw-${labId}-`);
  });
});
