// The swarm benchmark's quick mode, end to end on a tiny image (N = 2, 4 MiB, ~25 s), plus the pure
// parts. Needs root (network namespaces, tc) and the built @boottorrent/seeder and @boottorrent/tracker.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { clientServerTime, kumarRossBound } from './bound.ts';
import { combineRounds, markdownTable, roundOrder, roundRatios, svgPlot, type RunConfig } from './report.ts';
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

describe('--repeat: rounds', () => {
  const result = (method: ScenarioResult['method'], last: number, cpuSeconds: number): ScenarioResult => ({
    method,
    n: 4,
    ok: true,
    times: [last - 0.2, last],
    last,
    median: last - 0.1,
    serverTxBytes: 100 * last,
    cpuSeconds,
    machineBusy: last / 10,
    extra: { last },
  });
  it('alternates the order of the methods round by round', () => {
    const m = ['boottorrent', 'http', 'original'];
    expect([0, 1, 2, 3].map((r) => roundOrder(m, r).join())).toEqual([
      'boottorrent,http,original',
      'original,http,boottorrent',
      'boottorrent,http,original',
      'original,http,boottorrent',
    ]);
    expect(m).toEqual(['boottorrent', 'http', 'original']); // not reversed in place
  });
  it('keeps the medians and the round nearest the median last, with every round', () => {
    const c = combineRounds([
      { result: result('boottorrent', 5.2, 9), seq: 0 },
      { result: result('boottorrent', 4.6, 7), seq: 3 },
      { result: result('boottorrent', 4.8, 8.5), seq: 4 },
    ]);
    expect([c.last, c.median, c.cpuSeconds, c.serverTxBytes]).toEqual([4.8, 4.7, 8.5, 480]);
    expect(c.machineBusy).toBeCloseTo(0.48, 9);
    expect(c.extra).toEqual({ last: 4.8 });
    expect(c.rounds!.map((r) => [r.round, r.seq, r.last])).toEqual([
      [0, 0, 5.2],
      [1, 3, 4.6],
      [2, 4, 4.8],
    ]);
    // an even count: the mean of the middle two, and the first round nearest it
    const even = combineRounds([
      { result: result('boottorrent', 5, 6), seq: 0 },
      { result: result('boottorrent', 4, 8), seq: 1 },
    ]);
    expect([even.last, even.cpuSeconds, even.times]).toEqual([4.5, 7, [4.8, 5]]);
  });
  it('fails the whole result when a round failed, and leaves one run alone', () => {
    const bad = { ...result('original', NaN, NaN), ok: false, error: 'timed out' };
    const c = combineRounds([
      { result: result('original', 7, 8), seq: 1 },
      { result: bad, seq: 2 },
    ]);
    expect([c.ok, c.error, c.rounds!.map((r) => r.ok)]).toEqual([false, 'timed out', [true, false]]);
    const one = result('original', 7, 8);
    expect(combineRounds([{ result: one, seq: 0 }])).toBe(one);
  });
  it('prints the CPU and time ratios of each round, with their medians', () => {
    const ours = combineRounds([
      { result: result('boottorrent', 4.5, 7), seq: 0 },
      { result: result('boottorrent', 5, 9), seq: 3 },
    ]);
    const orig = combineRounds([
      { result: result('original', 7.2, 8), seq: 1 },
      { result: result('original', 7.5, 7.5), seq: 2 },
    ]);
    expect(roundRatios([ours, orig], 4, 4.5)).toBe(
      'N=4 by round: CPU-s BootTorrent ÷ original 0.88 1.20 (median 1.04); BootTorrent ÷ bound 1.00 1.11 ' +
        '(median 1.06); original ÷ BootTorrent 1.60 1.50 (median 1.55)',
    );
    expect(roundRatios([ours], 4, 4.5)).toBe('');
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

describe('swarm benchmark, --repeat', () => {
  it('runs each method once per round in alternating order and keeps the medians and every round', async () => {
    expect(process.getuid?.(), 'needs root: network namespaces and tc').toBe(0);
    const dir = mkdtempSync(join(tmpdir(), 'btsw-test-'));
    try {
      const json = join(dir, 'r.json');
      const { stderr } = await run(
        process.execPath,
        [
          join(import.meta.dirname, 'swarm.ts'),
          ...[
            '--n',
            '2',
            '--size-mib',
            '2',
            '--methods',
            'boottorrent,http',
            '--repeat',
            '2',
            '--json',
            json,
          ],
        ],
        { timeout: 85_000 },
      );
      const { results } = JSON.parse(readFileSync(json, 'utf8')) as { results: ScenarioResult[] };
      expect(results.map((x) => [x.method, x.ok, x.rounds?.length])).toEqual([
        ['boottorrent', true, 2],
        ['http', true, 2],
      ]);
      // round 1: boottorrent then http; round 2: http then boottorrent
      expect(results.map((x) => x.rounds!.map((r) => r.seq))).toEqual([
        [0, 3],
        [1, 2],
      ]);
      for (const x of results) {
        const [a, b] = x.rounds!;
        expect(x.last).toBeCloseTo((a!.last + b!.last) / 2, 9);
        expect(x.cpuSeconds).toBeCloseTo((a!.cpuSeconds + b!.cpuSeconds) / 2, 9);
        expect(a!.last).toBeGreaterThan(0);
      }
      expect(stderr).toMatch(/N=2 http \(round 2\/2\): last /);
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
