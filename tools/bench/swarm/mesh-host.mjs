// One host of mesh.ts, run inside its namespace: node mesh-host.mjs <own ip> <all ips, comma separated> <seconds>
// Prints "ready" once listening; on a line on stdin dials every other host and writes as fast as TCP
// takes it; after <seconds> prints {"rx": bytes received after the first 3 s, "ms": their duration} and exits.
import net from 'node:net';

const [self, all, secondsArg] = process.argv.slice(2);
const seconds = Number(secondsArg);
const peers = all.split(',').filter((ip) => ip && ip !== self);
const chunk = Buffer.alloc(64 * 1024, 0x5a);
let rx = 0;

const server = net.createServer((s) => {
  s.on('data', (d) => (rx += d.length));
  s.on('error', () => {});
});
server.listen(7000, self, () => process.stdout.write('ready\n'));

process.stdin.once('data', () => {
  for (const ip of peers) {
    const s = net.connect(7000, ip);
    const fill = () => {
      while (s.write(chunk));
    };
    s.on('connect', fill);
    s.on('drain', fill);
    s.on('error', () => {});
  }
  setTimeout(() => {
    const from = rx;
    const t = Date.now();
    setTimeout(
      () => {
        process.stdout.write(`${JSON.stringify({ rx: rx - from, ms: Date.now() - t })}\n`);
        process.exit(0);
      },
      (seconds - 3) * 1000,
    );
  }, 3000);
});
