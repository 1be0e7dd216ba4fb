// Turns scenario results into the table and the plot of docs/performance.md (## swarm). The plot is a
// hand-written SVG (no dependency): completion time of the last client against N, four lines.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kumarRossBound } from './bound.ts';
import { median, type Method, type Round, type ScenarioResult } from './scenarios.ts';

export interface RunConfig {
  ns: number[];
  imageBytes: number;
  clientMbit: number;
  serverMbit: number;
  methods: Method[];
  command: string;
  date: string;
  pieceLength?: number;
  superSeed?: boolean;
  /** net.ipv4.tcp_notsent_lowat in the client namespaces (undefined = 65536, as phase-1 sets; 0 = kernel default) */
  clientNotsentLowat?: number;
  /** TCP congestion control of the client namespaces; undefined in runs before it was recorded (the host's: bbr) */
  clientCongestion?: string;
  /** TCP congestion control of the server's namespace; undefined in runs before it was recorded (the host's: bbr) */
  serverCongestion?: string;
}

export interface Row {
  n: number;
  bound: number;
  boundLimit: string;
  by: Partial<Record<Method, ScenarioResult>>;
}

export function summarize(cfg: RunConfig, results: ScenarioResult[]): Row[] {
  return cfg.ns.map((n) => {
    const b = kumarRossBound({
      fileBytes: cfg.imageBytes,
      clients: n,
      serverUpBps: cfg.serverMbit * 1e6,
      clientUpBps: cfg.clientMbit * 1e6,
      clientDownBps: cfg.clientMbit * 1e6,
    });
    const by: Row['by'] = {};
    for (const r of results) if (r.n === n && r.ok) by[r.method] = r;
    return { n, bound: b.seconds, boundLimit: b.limit, by };
  });
}

const f1 = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(1));
const f2 = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(2));
const ratio = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined ? undefined : a / b;

/** Ratios are given for BootTorrent, then in parentheses for the prototype super-seeding server. */
export function markdownTable(cfg: RunConfig, rows: Row[]): string {
  const F = cfg.imageBytes;
  const lm = (r?: ScenarioResult) => (r ? `${f1(r.last)} / ${f1(r.median)}` : '–');
  const up = (r?: ScenarioResult) => (r ? f2(r.serverTxBytes / F) : '–');
  const cpu = (r?: ScenarioResult) => (r ? `${Math.round(100 * r.machineBusy)}%` : '–');
  const pair = (a: number | undefined, b: number | undefined) =>
    b === undefined ? f2(a) : `${f2(a)} (${f2(b)})`;
  const lines = [
    '| N | bound (s) | BootTorrent last / median (s) | prototype last / median (s) | HTTP last / median (s) | original last / median (s) | ÷ bound | speed-up over HTTP | original ÷ BootTorrent | server upload ÷ F: BootTorrent / prototype / HTTP / original | machine CPU busy: BootTorrent / prototype / original |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const row of rows) {
    const { boottorrent: bt, proto, http, original: og } = row.by;
    lines.push(
      `| ${row.n} | ${f1(row.bound)} | ${lm(bt)} | ${lm(proto)} | ${lm(http)} | ${lm(og)} | ` +
        `${pair(ratio(bt?.last, row.bound), ratio(proto?.last, row.bound))} | ` +
        `${pair(ratio(http?.last, bt?.last), ratio(http?.last, proto?.last))} | ` +
        `${pair(ratio(og?.last, bt?.last), ratio(og?.last, proto?.last))} | ` +
        `${up(bt)} / ${up(proto)} / ${up(http)} / ${up(og)} | ${cpu(bt)} / ${cpu(proto)} / ${cpu(og)} |`,
    );
  }
  return lines.join('\n');
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** Completion time of the last client vs N: BootTorrent, HTTP, original stack, Kumar–Ross bound. */
export function svgPlot(cfg: RunConfig, rows: Row[]): string {
  const W = 800;
  const H = 440;
  const m = { l: 64, r: 250, t: 40, b: 56 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const series: { name: string; color: string; dash?: string; pts: [number, number][] }[] = [
    { name: 'BootTorrent', color: '#1f77b4', pts: [] },
    { name: 'HTTP (one server)', color: '#d62728', pts: [] },
    { name: 'original: opentracker + aria2c', color: '#ff7f0e', pts: [] },
    { name: 'BootTorrent, prototype super-seeding', color: '#2ca02c', dash: '2 3', pts: [] },
    { name: 'Kumar–Ross bound', color: '#555555', dash: '6 4', pts: [] },
  ];
  for (const row of rows) {
    const vals = [
      row.by.boottorrent?.last,
      row.by.http?.last,
      row.by.original?.last,
      row.by.proto?.last,
      row.bound,
    ];
    vals.forEach((v, i) => {
      if (v !== undefined && Number.isFinite(v)) series[i]!.pts.push([row.n, v]);
    });
  }
  // Log y axis: a flat line (BootTorrent's goal) and a line growing with N (HTTP) both stay readable.
  const all = series.flatMap((s) => s.pts.map((p) => p[1]));
  const ticks = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000];
  const ymin = [...ticks].reverse().find((t) => t <= Math.min(...all, 1e9)) ?? 1;
  const ymax = ticks.find((t) => t >= Math.max(...all, 1)) ?? 10000;
  const lx = (n: number) => Math.log2(n);
  const xs = rows.map((r) => lx(r.n));
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const X = (n: number) => m.l + (x1 === x0 ? pw / 2 : ((lx(n) - x0) / (x1 - x0)) * pw);
  const Y = (v: number) => m.t + ph - (Math.log10(v / ymin) / Math.log10(ymax / ymin)) * ph;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${m.l}" y="22" font-size="14" font-weight="bold">Time until the last of N clients has the image (${(cfg.imageBytes / 2 ** 20).toFixed(0)} MiB, ${cfg.clientMbit} Mbit/s links)</text>`,
  );
  for (const v of ticks.filter((t) => t >= ymin && t <= ymax)) {
    out.push(
      `<line x1="${m.l}" x2="${m.l + pw}" y1="${Y(v).toFixed(1)}" y2="${Y(v).toFixed(1)}" stroke="#e5e5e5"/>`,
      `<text x="${m.l - 8}" y="${(Y(v) + 4).toFixed(1)}" text-anchor="end">${v}</text>`,
    );
  }
  for (const row of rows) {
    out.push(
      `<line x1="${X(row.n).toFixed(1)}" x2="${X(row.n).toFixed(1)}" y1="${m.t}" y2="${m.t + ph}" stroke="#f0f0f0"/>`,
      `<text x="${X(row.n).toFixed(1)}" y="${m.t + ph + 18}" text-anchor="middle">${row.n}</text>`,
    );
  }
  out.push(
    `<line x1="${m.l}" x2="${m.l + pw}" y1="${m.t + ph}" y2="${m.t + ph}" stroke="#000"/>`,
    `<line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${m.t + ph}" stroke="#000"/>`,
    `<text x="${m.l + pw / 2}" y="${H - 14}" text-anchor="middle">N clients (log scale)</text>`,
    `<text transform="translate(16 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle">seconds, log scale (last client done)</text>`,
  );
  series.forEach((s, i) => {
    if (s.pts.length > 0) {
      const d = s.pts.map(([n, v], j) => `${j ? 'L' : 'M'}${X(n).toFixed(1)} ${Y(v).toFixed(1)}`).join(' ');
      out.push(
        `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`,
      );
      for (const [n, v] of s.pts) {
        out.push(`<circle cx="${X(n).toFixed(1)}" cy="${Y(v).toFixed(1)}" r="3.5" fill="${s.color}"/>`);
      }
    }
    const ly = m.t + 10 + i * 22;
    const lx0 = m.l + pw + 16;
    out.push(
      `<line x1="${lx0}" x2="${lx0 + 24}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`,
      `<text x="${lx0 + 30}" y="${ly + 4}">${esc(s.name)}</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

const BEGIN = '<!-- swarm:generated:begin (tools/bench/swarm/swarm.ts --docs rewrites this block) -->';
const END = '<!-- swarm:generated:end -->';

/** Rewrites only the generated block of the `## swarm` section (and docs/swarm.svg). */
export function writeDocs(repo: string, cfg: RunConfig, table: string, svg: string): void {
  writeFileSync(join(repo, 'docs/swarm.svg'), svg);
  const block = [
    BEGIN,
    `Run ${cfg.date.slice(0, 16).replace('T', ' ')} UTC: image ${(cfg.imageBytes / 2 ** 20).toFixed(0)} MiB, ` +
      `clients ${cfg.clientMbit} Mbit/s up and down, server ${cfg.serverMbit} Mbit/s` +
      `${cfg.pieceLength ? `, BootTorrent piece length ${cfg.pieceLength}` : ''}${cfg.superSeed ? ', super-seeding' : ''}` +
      `${cfg.clientCongestion !== undefined ? `; TCP congestion control: clients ${cfg.clientCongestion}, server ${cfg.serverCongestion}` : ''}.`,
    '',
    '```sh',
    '# as root, with the pinned Node first on PATH (export PATH=$PWD/node_modules/.bin:$PATH)',
    'npx nx build @boottorrent/seeder && npx nx build @boottorrent/tracker',
    cfg.command,
    '```',
    '',
    table,
    '',
    '![Completion time of the last client vs N](swarm.svg)',
    END,
  ].join('\n');
  const path = join(repo, 'docs/performance.md');
  let doc = existsSync(path) ? readFileSync(path, 'utf8') : '# Performance\n';
  const b = doc.indexOf(BEGIN);
  const e = doc.indexOf(END);
  if (b >= 0 && e > b) {
    doc = doc.slice(0, b) + block + doc.slice(e + END.length);
  } else {
    doc = `${doc.trimEnd()}\n\n## swarm\n\n${block}\n`;
  }
  writeFileSync(path, doc);
}

/**
 * The order of the methods in round `round` of a `--repeat` run: as given in even rounds, reversed in
 * odd ones (A B, B A, A B, ...), so that no method always runs first, after a given other, or on the
 * machine's state one of them leaves (this VM's memory: see warmMemory in swarm.ts).
 */
export function roundOrder<T>(methods: readonly T[], round: number): T[] {
  return round % 2 ? [...methods].reverse() : [...methods];
}

/**
 * One result for a method at one N from its rounds (`runs`, in round order, each tagged with its
 * `seq`): the medians of `last`, `median`, `serverTxBytes`, `cpuSeconds` and `machineBusy`, the
 * `times` and `extra` of the round whose `last` is nearest that median, and every round in `rounds`.
 * A failed round makes the result failed (the first failure's error). One run is returned as it is.
 */
export function combineRounds(runs: { result: ScenarioResult; seq: number }[]): ScenarioResult {
  if (runs.length === 0) throw new Error('combineRounds: no runs');
  if (runs.length === 1) return runs[0]!.result;
  const rounds: Round[] = runs.map(({ result: r, seq }, round) => ({
    round,
    seq,
    ok: r.ok,
    ...(r.error !== undefined ? { error: r.error } : {}),
    last: r.last,
    median: r.median,
    serverTxBytes: r.serverTxBytes,
    cpuSeconds: r.cpuSeconds,
    machineBusy: r.machineBusy,
  }));
  const failed = runs.find(({ result }) => !result.ok);
  if (failed) return { ...failed.result, rounds };
  const of = (key: 'last' | 'median' | 'serverTxBytes' | 'cpuSeconds' | 'machineBusy') =>
    median(runs.map(({ result }) => result[key]));
  const last = of('last');
  let base = runs[0]!.result;
  for (const { result } of runs) if (Math.abs(result.last - last) < Math.abs(base.last - last)) base = result;
  return {
    ...base,
    last,
    median: of('median'),
    serverTxBytes: of('serverTxBytes'),
    cpuSeconds: of('cpuSeconds'),
    machineBusy: of('machineBusy'),
    rounds,
  };
}

/**
 * Per round, BootTorrent's CPU-seconds ÷ the original's and its `last` ÷ the bound (both methods ran
 * in that round, back to back): one log line, with the medians; '' unless both methods have rounds.
 */
export function roundRatios(results: ScenarioResult[], n: number, bound: number): string {
  const ours = results.find((r) => r.method === 'boottorrent' && r.n === n)?.rounds;
  const orig = results.find((r) => r.method === 'original' && r.n === n)?.rounds;
  if (!ours || !orig || ours.length !== orig.length) return '';
  const cpu = ours.map((r, i) => r.cpuSeconds / orig[i]!.cpuSeconds);
  const time = ours.map((r) => r.last / bound);
  const faster = ours.map((r, i) => orig[i]!.last / r.last);
  const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '–'); // '–': a failed round
  const list = (xs: number[]) =>
    `${xs.map(fmt).join(' ')} (median ${fmt(median(xs.filter(Number.isFinite)))})`;
  return (
    `N=${n} by round: CPU-s BootTorrent ÷ original ${list(cpu)}; BootTorrent ÷ bound ${list(time)}; ` +
    `original ÷ BootTorrent ${list(faster)}`
  );
}
