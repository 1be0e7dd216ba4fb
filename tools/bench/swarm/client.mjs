// One downloading machine, run inside its own namespace by swarm.ts (the agent's download path as a
// plain process: no VM).
//
//   node client.mjs http --url <url> --dir <out dir>
//   node client.mjs bt --torrent <file> --dir <out dir> [--announce <url,...>] [--server-peer <ip:port>]
//                      [--port <port>]
//
// Protocol (one JSON object per stdout line): {"ev":"ready"} once loaded (a BitTorrent client: once its
// download is prepared, as the agent's is during its menu's countdown; "go" is the countdown's end);
// the download starts on a "go" line; {"ev":"done","t":<epoch ms>,...} when the image is complete. A BitTorrent client then keeps
// seeding until a "stop" line (swarm.ts sends it once every client is done), prints {"ev":"closed",...}
// and exits. Exits by itself after --max-seconds.
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
/* global AbortController */
import { get } from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { constants as perfConstants, PerformanceObserver } from 'node:perf_hooks';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: 'string' },
    dir: { type: 'string' },
    torrent: { type: 'string' },
    announce: { type: 'string' },
    'server-peer': { type: 'string' },
    port: { type: 'string' },
    'max-seconds': { type: 'string', default: '3600' },
  },
});

// BTSW_SEEDER=<path to a built index.js>: the clients load another build of @boottorrent/seeder (A/B runs)
const SEEDER = process.env.BTSW_SEEDER ?? '@boottorrent/seeder';
const say = (msg) => process.stdout.write(`${JSON.stringify(msg)}\n`);
const mode = positionals[0];
mkdirSync(values.dir, { recursive: true });

let handle;
let last;
let firstPeerByteMs;
// peaks of process.memoryUsage() (MiB) seen at the progress ticks
const memPeak = {};
// one sample a second: [ms since go, downloaded, fromServer, fromPeers, peers, uploaded]
const timeline = [];
let stopped = false;
// garbage collection over the client's life: count and milliseconds, minor (scavenge) and major
const gc = { minor: 0, minorMs: 0, major: 0, majorMs: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const major = e.detail?.kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR;
    gc[major ? 'major' : 'minor']++;
    gc[major ? 'majorMs' : 'minorMs'] += e.duration;
  }
}).observe({ entryTypes: ['gc'] });
const abort = new AbortController();

// epoch ms of milestones: go (the line arrived), half (verified ≥ 50 %, at a progress tick), done
const marks = {};
// download()'s debug lines with their epoch ms: [ms, message, peer] (listening, torrent ready, tracker
// answered, each peer connected and its first block), for swarm.ts --trace-ms
const events = [];
const logger = {
  debug: (msg, data) => events.push([Date.now(), msg, data?.peer ?? '']),
  warn: (msg, data) => events.push([Date.now(), `warn: ${msg}`, data?.peer ?? '']),
};

async function start() {
  const t0 = Date.now();
  marks.go = t0;
  if (mode === 'http') {
    const bytes = await new Promise((resolve, reject) => {
      const req = get(values.url, (res) => {
        if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}`));
        let n = 0;
        res.on('data', (c) => (n += c.length));
        const out = createWriteStream(join(values.dir, 'image.bin'));
        res.pipe(out);
        out.on('finish', () => resolve(n));
        out.on('error', reject);
        res.on('error', reject);
      });
      req.on('error', reject);
    });
    say({ ev: 'done', t: Date.now(), ms: Date.now() - t0, bytes });
  } else if (mode === 'bt') {
    // what the agent does when its menu's countdown ends (prepared during it, see prepare() below)
    handle = await (prepared ? prepared.start() : (await prepare()).start());
    marks.done = Date.now();
    say({
      ev: 'done',
      t: marks.done,
      ms: marks.done - t0,
      firstPeerByteMs,
      timeline,
      marks,
      events,
      stats: safeStats(),
    });
  }
}

// The agent prepares the preselected OS's download during the menu's countdown (apps/agent, agent.ts):
// listening, the torrent added, announced and connected to the server's seeder and the peers, nothing
// asked for. The bench does the same before "ready", so its "go" is the end of the countdown.
// BTSW_PREPARE=local: prepared without announcing or connecting; BTSW_PREPARE=off: nothing before
// "go" (the flow before session 13; A/B runs only).
const PREPARE = process.env.BTSW_PREPARE ?? 'connect';
// BTSW_COUNTDOWN_MS: how long the prepared download waits before "ready" (the menu's countdown)
const COUNTDOWN_MS = Number(process.env.BTSW_COUNTDOWN_MS ?? 1000);
let prepared;
async function prepare() {
  const seeder = await import(SEEDER);
  const torrent = new Uint8Array(readFileSync(values.torrent));
  const opts = {
    torrent,
    dir: values.dir,
    ...(values.announce ? { announce: values.announce.split(',') } : {}),
    ...(values['server-peer'] ? { serverPeers: [values['server-peer']] } : {}),
    ...(values.port ? { port: Number(values.port) } : {}),
    // BTSW_CLIENT_OPTS='{"lanTuning":false}': extra download() options, for the bottleneck analysis
    ...JSON.parse(process.env.BTSW_CLIENT_OPTS ?? '{}'),
    connect: PREPARE === 'connect',
    logger,
    signal: abort.signal,
    onProgress: (p) => {
      last = p;
      const m = process.memoryUsage();
      for (const k of ['rss', 'heapTotal', 'arrayBuffers'])
        memPeak[k] = Math.max(memPeak[k] ?? 0, Math.round(m[k] / 2 ** 20));
      const ms = Date.now() - marks.go;
      if (firstPeerByteMs === undefined && p.fromPeers > 0) firstPeerByteMs = ms;
      if (marks.half === undefined && p.downloaded * 2 >= p.total) marks.half = Date.now();
      if (ms >= timeline.length * 1000)
        timeline.push([ms, p.downloaded, p.fromServer, p.fromPeers, p.peers, p.uploaded]);
    },
  };
  if (PREPARE === 'off') return { start: () => seeder.download(opts) };
  return seeder.prepareDownload(opts);
}

function safeStats() {
  try {
    return handle?.stats();
  } catch (err) {
    return { error: String(err) };
  }
}

async function shutdown(code) {
  if (stopped) return;
  stopped = true;
  const stats = safeStats();
  abort.abort();
  try {
    await handle?.close();
  } catch (err) {
    process.stderr.write(`client.mjs: close failed: ${err?.stack ?? err}\n`);
  }
  // peak resident memory of this client (phase-1 RAM is the machine's RAM)
  say({
    ev: 'closed',
    progress: last,
    stats,
    maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    memPeak,
    gc: { ...gc, minorMs: Math.round(gc.minorMs), majorMs: Math.round(gc.majorMs) },
  });
  process.exit(code);
}

if (mode !== 'http' && mode !== 'bt') {
  process.stderr.write(`client.mjs: unknown mode ${mode} (http | bt)\n`);
  process.exit(2);
}
if (mode === 'bt') {
  await import(SEEDER); // load before "ready", so the clock is fair
  if (PREPARE !== 'off') {
    prepared = await prepare();
    // the shortest countdown with which the agent prepares (its menu counts whole seconds)
    await new Promise((r) => setTimeout(r, COUNTDOWN_MS));
  }
}
createInterface({ input: process.stdin })
  .on('line', (line) => {
    const cmd = line.trim();
    if (cmd === 'go')
      start().catch((err) => {
        say({ ev: 'error', message: String(err?.stack ?? err) });
        shutdown(1);
      });
    else if (cmd === 'stop') shutdown(0);
  })
  .on('close', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));
setTimeout(() => shutdown(3), Number(values['max-seconds']) * 1000).unref();
say({ ev: 'ready' });
