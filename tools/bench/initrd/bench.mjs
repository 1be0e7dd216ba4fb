// Phase-1 archive benchmark: our streaming cpio writer + node:zlib against GNU cpio piped into the
// gzip/zstd command-line tools, on the same input (the pinned Node binary stripped, plus its shared
// libraries: the biggest phase-1 archive). Prints size and time ratios (ours / reference), measured in
// the same run, and the full phase-1 size at the default levels.
//
//   npx nx build @boottorrent/initrd-builder && node tools/bench/initrd/bench.mjs [--quick]
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, copyFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import {
  buildPhase1,
  compress,
  defaultSearchRoots,
  findHostParts,
  resolveLibraries,
  stripElf,
  writeCpio,
} from '../../../packages/initrd-builder/dist/index.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const quick = process.argv.includes('--quick');
const parts = await findHostParts({ searchRoots: await defaultSearchRoots(repo) });
const work = await mkdtemp(join(tmpdir(), 'bt-bench-initrd-'));
const MB = (n) => (n / 1e6).toFixed(1);
try {
  // The input tree, on disk, for GNU cpio.
  const tree = join(work, 'tree');
  const node = join(tree, 'usr/bin/node');
  await mkdir(dirname(node), { recursive: true });
  await stripElf(parts.node, node);
  const entries = [{ path: 'usr/bin/node', type: 'file', mode: 0o755, source: node }];
  for (const lib of await resolveLibraries(parts.node)) {
    const dest = join(tree, lib);
    await mkdir(dirname(dest), { recursive: true });
    await copyFile(lib, dest);
    entries.push({ path: lib, type: 'file', mode: 0o755, source: dest });
  }
  const dirs = new Set();
  for (const e of entries) {
    const segs = e.path.replace(/^\//, '').split('/');
    for (let i = 1; i < segs.length; i++) dirs.add(segs.slice(0, i).join('/'));
  }
  for (const d of dirs) entries.push({ path: d, type: 'dir' });

  const rows = [];
  const cases = quick
    ? [['zstd', 3, ['zstd', '-3', '-q', '-c']]]
    : [
        ['gzip', 9, ['gzip', '-9', '-n', '-c']],
        ['zstd', 19, ['zstd', '-19', '-q', '-c']],
        ['xz', 6, ['xz', '--check=crc32', '--x86', '--lzma2=preset=6', '-T0', '-c']],
      ];
  for (const [kind, level, tool] of cases) {
    const ours = join(work, `ours.${kind}`);
    let t = performance.now();
    await pipeline(compress(writeCpio(entries), kind, { level }), createWriteStream(ours));
    const oursMs = performance.now() - t;
    const ref = join(work, `ref.${kind}`);
    t = performance.now();
    await new Promise((resolve, reject) => {
      const sh = spawn(
        'sh',
        [
          '-c',
          `cd ${tree} && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet --owner=0:0 | ${tool.join(' ')} > ${ref}`,
        ],
        { stdio: 'inherit' },
      );
      sh.on('exit', (c) => (c === 0 ? resolve() : reject(new Error(`reference exit ${c}`))));
    });
    const refMs = performance.now() - t;
    const [a, b] = [(await stat(ours)).size, (await stat(ref)).size];
    rows.push({ kind: `${kind} -${level}`, ours: a, oursMs, ref: b, refMs });
  }
  console.log(
    '| archive (node + libs) | ours MB | ours s | GNU cpio + CLI MB | CLI s | size ratio | time ratio |',
  );
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(
      `| ${r.kind} | ${MB(r.ours)} | ${(r.oursMs / 1000).toFixed(1)} | ${MB(r.ref)} | ${(r.refMs / 1000).toFixed(1)} | ` +
        `${(r.ours / r.ref).toFixed(3)} | ${(r.oursMs / r.refMs).toFixed(2)} |`,
    );
  }

  // The whole phase-1 at the default levels: the goal is kernel + initrds <= 40 MB.
  if (!quick) {
    const agent = join(work, 'agent.mjs');
    const bundle = join(repo, 'apps/agent/dist/agent.mjs');
    await copyFile(bundle, agent).catch(() => writeFile(agent, 'console.log("no agent bundle built")'));
    for (const compression of ['zstd', 'xz']) {
      const t = performance.now();
      const r = await buildPhase1({
        outDir: join(work, `phase1-${compression}`),
        parts,
        agentBundle: agent,
        compression,
      });
      console.log(
        `\nphase-1 with ${compression} at its default level, built in ${((performance.now() - t) / 1000).toFixed(1)} s:`,
      );
      for (const [k, v] of Object.entries(r.sizes)) console.log(`  ${k.padEnd(16)} ${MB(v).padStart(7)} MB`);
    }
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
