// Phase-1 boot time by compressor: builds phase-1 at the default levels with zstd and with xz (cached
// in $TMPDIR/bt-bench-initrd-boot between runs), boots each in QEMU (TCG, direct boot, user network)
// with a stub agent, and reports the time from QEMU's start to /init's first line (the kernel has
// unpacked every archive) and to the agent's first line (Node started). xz / zstd ratio in the same run.
//
//   npx nx build @boottorrent/initrd-builder && node tools/bench/initrd/boot.mjs [runs]
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import {
  buildPhase1,
  defaultSearchRoots,
  findHostParts,
} from '../../../packages/initrd-builder/dist/index.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const runs = Number(process.argv[2] ?? 2);
const work = join(tmpdir(), 'bt-bench-initrd-boot');
await mkdir(work, { recursive: true });
const agent = join(work, 'agent.mjs');
await writeFile(agent, "console.log('BENCH-AGENT-UP'); setTimeout(() => process.exit(0), 100);\n");
const parts = await findHostParts({ searchRoots: await defaultSearchRoots(repo) });

function boot(kernel, initrd) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const marks = {};
    const qemu = spawn('qemu-system-x86_64', [
      ...['-accel', 'tcg', '-m', '1024', '-smp', '1', '-nographic', '-monitor', 'none', '-no-reboot'],
      ...['-kernel', kernel, '-initrd', initrd, '-append', 'console=ttyS0 quiet panic=-1'],
      ...['-netdev', 'user,id=n0', '-device', 'virtio-net-pci,netdev=n0'],
    ]);
    let out = '';
    const timer = setTimeout(() => qemu.kill('SIGKILL'), 300_000);
    qemu.stdout.on('data', (d) => {
      out += d.toString('latin1');
      if (!marks.init && out.includes('boottorrent phase-1:')) marks.init = performance.now() - t0;
      if (!marks.agent && out.includes('BENCH-AGENT-UP')) {
        marks.agent = performance.now() - t0;
        qemu.kill('SIGKILL');
      }
    });
    qemu.on('exit', () => {
      clearTimeout(timer);
      if (marks.agent) resolve(marks);
      else reject(new Error(`no agent marker:\n${out.slice(-2000)}`));
    });
  });
}

const results = {};
for (const compression of ['zstd', 'xz']) {
  const r = await buildPhase1({ outDir: join(work, compression), parts, agentBundle: agent, compression });
  const initrd = join(work, `${compression}.img`);
  const ws = createWriteStream(initrd);
  for (const f of r.initrds) await pipeline(createReadStream(f), ws, { end: false });
  await new Promise((res) => ws.end(res));
  results[compression] = { size: r.sizes.total, init: [], agent: [] };
}
for (let i = 0; i < runs; i++) {
  for (const compression of ['zstd', 'xz']) {
    const m = await boot(join(work, compression, 'vmlinuz'), join(work, `${compression}.img`));
    results[compression].init.push(m.init);
    results[compression].agent.push(m.agent);
  }
}
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const s = (ms) => (ms / 1000).toFixed(1);
console.log(`| phase-1 (${runs} boots each, median) | total MB | QEMU start → /init s | → agent up s |`);
console.log('|---|---|---|---|');
for (const [k, v] of Object.entries(results)) {
  console.log(`| ${k} | ${(v.size / 1e6).toFixed(1)} | ${s(median(v.init))} | ${s(median(v.agent))} |`);
}
const ratio = (key) => (median(results.xz[key]) / median(results.zstd[key])).toFixed(2);
console.log(
  `| xz / zstd | ${(results.xz.size / results.zstd.size).toFixed(3)} | ${ratio('init')} | ${ratio('agent')} |`,
);
