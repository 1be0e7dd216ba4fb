// Node's floor for the BitTorrent data path: a bare sender and receiver, each its own process on
// loopback, moving the same bytes as a seeder and a downloader do (PIECE messages of 16 KiB blocks
// with their 13-byte headers, a corked write per piece; the receiver cuts the messages, copies each
// block into its piece, hashes every piece with SHA-1 and writes it to a file in /dev/shm), and
// nothing else. Prints the CPU-seconds of each side: what a Node process cannot go below.
//
//   node tools/bench/swarm/floor.mjs [--size-mib 256] [--piece-kib 1024]
import { fork } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'size-mib': { type: 'string', default: '256' },
    'piece-kib': { type: 'string', default: '1024' },
  },
});
const PIECES = (Number(values['size-mib']) * 1024) / Number(values['piece-kib']);
const PIECE = Number(values['piece-kib']) * 1024;
const BLOCK = 16 * 1024;
const SRC = `/dev/shm/btfloor-src-${process.ppid}`;
const DST = `/dev/shm/btfloor-dst-${process.ppid}`;
const cpu = (u) => +((u.user + u.system) / 1e6).toFixed(2);

if (positionals[0] === 'send') {
  const fd = openSync(positionals[1], 'r');
  const server = createServer((s) => {
    s.setNoDelay(true);
    const u0 = process.cpuUsage();
    let i = 0;
    const pump = () => {
      while (i < PIECES) {
        const piece = Buffer.allocUnsafe(PIECE);
        readSync(fd, piece, 0, PIECE, i * PIECE);
        s.cork();
        let ok = true;
        for (let o = 0; o < PIECE; o += BLOCK) {
          const h = Buffer.allocUnsafe(13);
          h.writeUInt32BE(9 + BLOCK, 0);
          h[4] = 7;
          h.writeUInt32BE(i, 5);
          h.writeUInt32BE(o, 9);
          s.write(h);
          ok = s.write(piece.subarray(o, o + BLOCK));
        }
        s.uncork();
        i++;
        if (!ok) return void s.once('drain', pump);
      }
      s.end(() => {
        process.send({ side: 'send', cpu: cpu(process.cpuUsage(u0)) });
        process.exit(0);
      });
    };
    pump();
  });
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
} else if (positionals[0] === 'recv') {
  const out = openSync(positionals[2], 'w');
  const u0 = process.cpuUsage();
  const t0 = performance.now();
  const s = connect(Number(positionals[1]), '127.0.0.1');
  let chunks = [];
  let size = 0;
  const piece = Buffer.allocUnsafe(PIECE);
  let filled = 0;
  s.on('data', (c) => {
    chunks.push(c);
    size += c.length;
    while (size >= 13) {
      if (chunks[0].length < 13) chunks = [Buffer.concat(chunks)];
      const head = chunks[0];
      const len = head.readUInt32BE(0) + 4;
      if (size < len) break;
      const index = head.readUInt32BE(5);
      let at = head.readUInt32BE(9);
      let skip = 13;
      let need = len;
      while (need > 0) {
        const c0 = chunks[0];
        const n = Math.min(c0.length, need);
        piece.set(c0.subarray(skip, n), at);
        at += n - skip;
        skip = 0;
        need -= n;
        if (n === c0.length) chunks.shift();
        else chunks[0] = c0.subarray(n);
      }
      size -= len;
      filled += len - 13;
      if (filled === PIECE) {
        createHash('sha1').update(piece).digest();
        writeSync(out, piece, 0, PIECE, index * PIECE);
        filled = 0;
      }
    }
  });
  s.on('end', () => {
    process.send({ side: 'recv', cpu: cpu(process.cpuUsage(u0)), seconds: (performance.now() - t0) / 1000 });
    closeSync(out);
    process.exit(0);
  });
} else {
  const fd = openSync(SRC, 'w');
  for (let i = 0; i < Number(values['size-mib']); i++) writeSync(fd, randomBytes(1 << 20));
  closeSync(fd);
  const me = new URL(import.meta.url).pathname;
  const args = process.argv.slice(2);
  const result = {};
  try {
    await new Promise((resolve, reject) => {
      const sender = fork(me, ['send', SRC, ...args]);
      sender.on('message', (m) => {
        if (m.port) {
          const receiver = fork(me, ['recv', String(m.port), DST, ...args]);
          receiver.on('message', (r) =>
            Object.assign(result, { recvCpu: r.cpu, seconds: +r.seconds.toFixed(2) }),
          );
          receiver.on('exit', () => result.sendCpu !== undefined && resolve());
          receiver.on('error', reject);
        } else {
          result.sendCpu = m.cpu;
          if (result.recvCpu !== undefined) resolve();
        }
      });
      sender.on('error', reject);
    });
  } finally {
    rmSync(SRC, { force: true });
    rmSync(DST, { force: true });
  }
  console.log(JSON.stringify({ sizeMiB: Number(values['size-mib']), pieceKiB: PIECE / 1024, ...result }));
}
