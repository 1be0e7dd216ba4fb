// Measures the npm `dhcp` package (0.2.20) against what @boottorrent/pxe needs; the results are
// recorded in packages/pxe/README.md. Codec checks run in-process; the server checks run inside a
// throwaway network namespace (the server answers broadcasts), as root:
//   npx nx build @boottorrent/lab && node tools/bench/dhcp/npm-dhcp-probe.mjs
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createNetns } from '@boottorrent/lab';

const require = createRequire(new URL('../../../packages/pxe/package.json', import.meta.url));
const self = fileURLToPath(import.meta.url);

function packet(options) {
  const b = Buffer.alloc(240);
  b[0] = 1;
  b[1] = 1;
  b[2] = 6;
  b.writeUInt32BE(0x12345678, 4);
  Buffer.from([0x52, 0x54, 0, 0x77, 0, 0x10]).copy(b, 28);
  b.writeUInt32BE(0x63825363, 236);
  return Buffer.concat([b, Buffer.from(options)]);
}
const PXE = [...Buffer.from('PXEClient:Arch:00000:UNDI:002001')];
const discoverPxe = packet([
  53,
  1,
  1,
  55,
  5,
  1,
  3,
  60,
  66,
  67,
  60,
  PXE.length,
  ...PXE,
  93,
  2,
  0,
  0,
  77,
  4,
  ...Buffer.from('iPXE'),
  97,
  17,
  0,
  ...randomBytes(16),
  255,
]);

if (process.argv[2] === '--server') {
  // Inside the namespace: start the package's server and feed it one packet on loopback.
  const dhcp = require('dhcp');
  const s = dhcp.createServer({
    range: ['127.0.0.100', '127.0.0.199'],
    server: '127.0.0.1',
    bootFile: 'undionly.kpxe',
  });
  s.listen(6767, '127.0.0.1', () => {
    const c = require('node:dgram').createSocket('udp4');
    const which = process.argv[3];
    const pkt = which === 'short' ? Buffer.alloc(100) : discoverPxe;
    c.send(pkt, 6767, '127.0.0.1', () => setTimeout(() => (console.log('survived'), process.exit(0)), 500));
  });
} else {
  const Protocol = require('dhcp/lib/protocol.js');
  const rows = [];
  const parsed = Protocol.parse(discoverPxe);
  rows.push([
    'options 93, 77, 97 parsed',
    [93, 77, 97].map((o) => `${o}:${parsed.options[o] === undefined ? 'missing' : 'ok'}`).join(' '),
  ]);
  for (const pads of [1, 2]) {
    let got;
    try {
      got = `message type ${Protocol.parse(packet([...new Array(pads).fill(0), 53, 1, 1, 255])).options[53]}`;
    } catch (e) {
      got = `throws ${e.code ?? e.message}`;
    }
    rows.push([`DISCOVER after ${pads} pad byte(s) (want message type 1)`, got]);
  }
  const cid = Protocol.parse(packet([53, 1, 1, 61, 7, 1, 0x52, 0x54, 0, 0, 0, 0x10, 255]));
  rows.push(['option 61 = 01 52 54 00 00 00 10 read as', JSON.stringify(cid.options[61])]);
  const src = require('node:fs').readFileSync(require.resolve('dhcp'), 'utf8');
  const dispatch = src.slice(
    src.indexOf('switch (req.options[53])'),
    src.indexOf('console.error("Not implemented method"'),
  );
  rows.push([
    'server dispatches RELEASE/DECLINE/INFORM',
    /case DHCP(RELEASE|DECLINE|INFORM)/.test(dispatch)
      ? 'yes'
      : 'no (console.error "Not implemented method")',
  ]);
  const handleRequest = src.slice(src.indexOf('handleRequest: function'), src.indexOf('sendAck: function'));
  rows.push([
    'server REQUEST handler looks at option 54',
    /options\[54\]/.test(handleRequest) ? 'yes' : 'no: ACKs every REQUEST',
  ]);
  const ns = await createNetns({ prefix: 'btpxe-probe' });
  try {
    for (const which of ['pxe', 'short']) {
      const r = spawnSync(...ns.command(process.execPath, [self, '--server', which]), {
        encoding: 'utf8',
        timeout: 20_000,
      });
      const err = (r.stderr.match(/^\w*Error.*$/m) ?? [''])[0];
      rows.push([
        which === 'pxe' ? 'server fed a PXE DISCOVER (55 asks for 60)' : 'server fed a 100-byte packet',
        r.stdout.includes('survived') ? 'survived' : `process died (exit ${r.status}): ${err}`,
      ]);
    }
  } finally {
    await ns.close();
  }
  for (const [k, v] of rows) console.log(`| ${k} | ${v} |`);
}
