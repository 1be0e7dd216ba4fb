// One seeder and one downloader on loopback, no shaping: the data path's CPU per GiB and its speed,
// without the swarm's namespaces (a quick loop for profiling). Each side is its own process; prints
// one JSON line with wall time, CPU-seconds and peak RSS of each.
//
//   node tools/bench/swarm/pair.mjs [--size-mib 512] [--runs 1] [--prof <dir>] [--node-args='<flags>']
//
// BTSW_SEEDER / BTSW_SERVER_SEEDER = <path to a built index.js>: the downloader / the seeder loads that
// build of @boottorrent/seeder instead (A/B runs, as in swarm.ts); PAIR_GET_OPTS / PAIR_SEED_OPTS = JSON
// of extra download() / startSeeder() options.
//
// Needs the built @boottorrent/seeder (npx nx build @boottorrent/seeder).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '512' },
    runs: { type: 'string', default: '1' },
    prof: { type: 'string' },
    'node-args': { type: 'string', default: '' },
    role: { type: 'string' },
    dir: { type: 'string' },
    torrent: { type: 'string' },
    peer: { type: 'string' },
    opts: { type: 'string', default: '{}' },
  },
});

const usage = () => ({ ...process.cpuUsage(), rss: process.resourceUsage().maxRSS * 1024 });
const cpuS = (u) => (u.user + u.system) / 1e6;
const sysS = (u) => u.system / 1e6;

if (values.role === 'seed') {
  const { createTorrent, startSeeder } = await import(
    process.env.BTSW_SERVER_SEEDER ?? '@boottorrent/seeder'
  );
  const created = await createTorrent(values.dir);
  const { writeFileSync } = await import('node:fs');
  writeFileSync(values.torrent, created.torrent);
  const seeder = await startSeeder({
    torrents: [{ torrent: created.torrent, dir: values.dir }],
    host: '127.0.0.1',
    port: 0,
    skipVerify: true,
    ...JSON.parse(values.opts),
  });
  const u0 = usage();
  process.stdout.write(`${JSON.stringify({ port: seeder.port, pieceLength: created.pieceLength })}\n`);
  process.stdin.on('data', async () => {
    const u1 = usage();
    await seeder.close();
    process.stdout.write(
      `${JSON.stringify({ cpu: cpuS(u1) - cpuS(u0), sys: sysS(u1) - sysS(u0), rss: u1.rss })}\n`,
    );
    process.exit(0);
  });
} else if (values.role === 'get') {
  const { download } = await import(process.env.BTSW_SEEDER ?? '@boottorrent/seeder');
  const { readFileSync } = await import('node:fs');
  const torrent = new Uint8Array(readFileSync(values.torrent));
  const u0 = usage();
  const t0 = performance.now();
  const dl = await download({
    torrent,
    dir: values.dir,
    serverPeers: [values.peer],
    webSeeds: [],
    ...JSON.parse(values.opts),
  });
  const ms = performance.now() - t0;
  const u1 = usage();
  await dl.close();
  process.stdout.write(
    `${JSON.stringify({ ms, cpu: cpuS(u1) - cpuS(u0), sys: sysS(u1) - sysS(u0), rss: u1.rss, stats: dl.stats() })}\n`,
  );
  process.exit(0);
} else {
  const work = mkdtempSync('/dev/shm/btpair-');
  try {
    const img = join(work, 'img');
    mkdirSync(img);
    const fd = openSync(join(img, 'image.bin'), 'w');
    for (let left = Number(values['size-mib']); left > 0; left--) writeSync(fd, randomBytes(1 << 20));
    closeSync(fd);
    const nodeArgs = [
      ...values['node-args'].split(' ').filter(Boolean),
      ...(values.prof ? ['--cpu-prof', '--cpu-prof-dir', values.prof] : []),
    ];
    const me = new URL(import.meta.url).pathname;
    const lines = (child) => {
      const q = [];
      let wait;
      let buf = '';
      child.stdout.on('data', (d) => {
        buf += d;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          if (line.startsWith('{')) q.push(JSON.parse(line));
          else process.stderr.write(`${line}\n`); // --trace-gc and the like
          buf = buf.slice(i + 1);
          wait?.();
        }
      });
      return async () => {
        while (!q.length) await new Promise((r) => (wait = r));
        return q.shift();
      };
    };
    for (let r = 0; r < Number(values.runs); r++) {
      const torrent = join(work, 'x.torrent');
      const seed = spawn(
        process.execPath,
        [
          ...nodeArgs,
          me,
          '--role',
          'seed',
          '--dir',
          img,
          '--torrent',
          torrent,
          '--opts',
          process.env.PAIR_SEED_OPTS ?? '{}',
        ],
        { stdio: ['pipe', 'pipe', 'inherit'] },
      );
      const seedMsg = lines(seed);
      const { port } = await seedMsg();
      const out = join(work, `out${r}`);
      const get = spawn(
        process.execPath,
        [
          ...nodeArgs,
          me,
          '--role',
          'get',
          '--dir',
          out,
          '--torrent',
          torrent,
          '--peer',
          `127.0.0.1:${port}`,
          '--opts',
          process.env.PAIR_GET_OPTS ?? '{}',
        ],
        { stdio: ['pipe', 'pipe', 'inherit'] },
      );
      const g = await lines(get)();
      seed.stdin.write('stop\n');
      const s = await seedMsg();
      const mib = Number(values['size-mib']);
      console.log(
        JSON.stringify({
          sizeMiB: mib,
          seconds: +(g.ms / 1000).toFixed(2),
          mibPerS: +(mib / (g.ms / 1000)).toFixed(0),
          getCpu: +g.cpu.toFixed(2),
          getSys: +g.sys.toFixed(2),
          seedCpu: +s.cpu.toFixed(2),
          seedSys: +s.sys.toFixed(2),
          getRssMiB: Math.round(g.rss / 2 ** 20),
          seedRssMiB: Math.round(s.rss / 2 ** 20),
          load: (await import('node:os')).loadavg()[0].toFixed(1),
        }),
      );
      rmSync(out, { recursive: true, force: true });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
