// The server side of one scenario, run inside the server namespace by swarm.ts.
//
//   node server.mjs http --file <image file> --host <ip> --port <port>
//   node server.mjs bt   --dir <image dir> --host <ip> --port <seeder port> --tracker-port <port>
//                        --torrent-out <path> [--piece-length <bytes>] [--super-seed] [--proto-superseed]
//
// --super-seed passes superSeed: true to startSeeder (once it has that option); --proto-superseed
// replaces startSeeder by the benchmark's prototype (proto-superseed.mjs) to measure that policy.
//
// Protocol (one JSON object per stdout line): {"ev":"ready",...} once listening; on a "stop" line or
// when stdin closes: {"ev":"closed","stats":...}, then exit. Exits by itself after --max-seconds.
import { createReadStream, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    file: { type: 'string' },
    dir: { type: 'string' },
    host: { type: 'string', default: '0.0.0.0' },
    port: { type: 'string', default: '0' },
    'tracker-port': { type: 'string', default: '8000' },
    'torrent-out': { type: 'string' },
    'piece-length': { type: 'string' },
    'super-seed': { type: 'boolean', default: false },
    'proto-superseed': { type: 'boolean', default: false },
    'max-seconds': { type: 'string', default: '3600' },
  },
});

const say = (msg) => process.stdout.write(`${JSON.stringify(msg)}\n`);
const mode = positionals[0];
let close = async () => ({});

if (mode === 'http') {
  const file = values.file;
  const size = statSync(file).size;
  let bytes = 0;
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
    const stream = createReadStream(file);
    stream.on('data', (chunk) => (bytes += chunk.length));
    stream.pipe(res);
  });
  await new Promise((resolve) => server.listen(Number(values.port), values.host, resolve));
  close = async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    return { bytes, requests };
  };
  say({ ev: 'ready', port: server.address().port });
} else if (mode === 'bt') {
  // BTSW_SERVER_SEEDER=<path to a built index.js>: the server loads another build of @boottorrent/seeder
  // (A/B runs of the server side; BTSW_SEEDER does the same for the clients)
  const { createTorrent, startSeeder } = await import(
    process.env.BTSW_SERVER_SEEDER ?? '@boottorrent/seeder'
  );
  const { startTracker } = await import('@boottorrent/tracker');
  const tracker = await startTracker({ host: values.host, port: Number(values['tracker-port']) });
  const announce = tracker.announceUrls(values.host);
  const t0 = performance.now();
  const created = await createTorrent(values.dir, {
    announce,
    ...(values['piece-length'] ? { pieceLength: Number(values['piece-length']) } : {}),
  });
  const hashMs = performance.now() - t0;
  writeFileSync(values['torrent-out'], created.torrent);
  const seeder = values['proto-superseed']
    ? await (
        await import('./proto-superseed.mjs')
      ).startProtoSeeder({
        torrent: created.torrent,
        dir: values.dir,
        host: values.host,
        port: Number(values.port),
        announce,
      })
    : await startSeeder({
        torrents: [{ torrent: created.torrent, dir: values.dir }],
        host: values.host,
        port: Number(values.port),
        announce,
        ...(values['super-seed'] ? { superSeed: true } : {}),
        // BTSW_SERVER_OPTS='{"uploadQueue":false}': extra startSeeder() options, for the bottleneck analysis
        ...JSON.parse(process.env.BTSW_SERVER_OPTS ?? '{}'),
      });
  close = async () => {
    const stats = { seeder: seeder.stats(), tracker: tracker.stats() };
    await seeder.close();
    await tracker.close();
    return stats;
  };
  say({
    ev: 'ready',
    port: seeder.port,
    announce,
    infoHash: created.infoHash,
    pieceLength: created.pieceLength,
    pieceCount: created.pieceCount,
    hashMs: Math.round(hashMs),
  });
} else {
  process.stderr.write(`server.mjs: unknown mode ${mode} (http | bt)\n`);
  process.exit(2);
}

let closing = false;
async function shutdown(code) {
  if (closing) return;
  closing = true;
  let stats = {};
  try {
    stats = await close();
  } catch (err) {
    process.stderr.write(`server.mjs: close failed: ${err?.stack ?? err}\n`);
  }
  say({ ev: 'closed', stats });
  process.exit(code);
}
createInterface({ input: process.stdin })
  .on('line', (line) => line.trim() === 'stop' && shutdown(0))
  .on('close', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));
setTimeout(() => shutdown(3), Number(values['max-seconds']) * 1000).unref();
