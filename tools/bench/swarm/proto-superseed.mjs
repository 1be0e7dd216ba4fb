// PROTOTYPE, benchmark only: a server seeder with a super-seeding policy (in the spirit of BEP 16), to
// measure what @boottorrent/seeder would gain from one. It is not the product's seeder; the numbers it
// gives are the "after" of the recommendation in docs/performance.md (## swarm).
//
// Policy: the server never shows a client its whole bitfield. Each connection is shown only PER_WIRE
// pieces (a partial bitfield, then HAVE messages), chosen as the pieces shown to the fewest connections
// so far (then held by the fewest clients); as soon as a client has requested every block of one, it is
// shown the next. Clients fetch
// everything else from each other, so the server sends each piece about once while pieces no client
// holds remain, and keeps feeding the globally rarest pieces afterwards.
import { dirname } from 'node:path';
import WebTorrent from 'webtorrent';

/** Pieces shown to one connection at a time (2 keeps one piece in flight while the next is asked for). */
export const PER_WIRE = 2;

export async function startProtoSeeder({ torrent, dir, host, port, announce }) {
  const client = new WebTorrent({
    dht: false,
    utp: false,
    natUpnp: false,
    natPmp: false,
    lsd: false,
    utPex: true,
    torrentPort: port,
    maxConns: 200,
  });
  await new Promise((resolve, reject) => {
    if (client.listening) resolve();
    client.once('listening', resolve);
    client.once('error', reject);
  });
  const server = client._connPool?.tcpServer;
  if (host && server) {
    await new Promise((resolve) => server.close(resolve));
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, resolve);
    });
  }
  // The torrent's name is the folder's name, so the content is read from dir itself.
  const t = await new Promise((resolve, reject) => {
    const tor = client.add(Buffer.from(torrent), { path: dirname(dir), announce, uploads: 200 });
    tor.once('ready', () => resolve(tor));
    tor.once('error', reject);
  });
  if (!t.done) {
    await new Promise((resolve) => t.once('done', resolve));
  }
  const n = t.pieces.length;
  const pieceLen = t.pieceLength;
  const lastLen = t.length - pieceLen * (n - 1);
  const holders = new Uint16Array(n); // clients that have the piece (from BITFIELD/HAVE)
  const given = new Uint16Array(n); // connections shown the piece (minus those that left before asking)
  let sentBytes = 0;
  let shownTotal = 0;

  t.on('wire', (wire) => {
    const shown = new Set(); // pieces this connection may request from us (still open)
    const everShown = new Set();
    const requested = new Map(); // piece -> bytes requested by this connection
    const theirs = new Set(); // pieces this client has told us it holds
    const bf = Buffer.alloc(Math.ceil(n / 8));
    const mark = (i) => (bf[i >> 3] |= 0x80 >> (i & 7));
    const pick = () => {
      let best = -1;
      let score = Infinity;
      const start = Math.floor(Math.random() * n);
      for (let k = 0; k < n; k++) {
        const i = (start + k) % n;
        if (everShown.has(i) || theirs.has(i)) continue;
        const s = given[i] * 4096 + holders[i];
        if (s < score) {
          score = s;
          best = i;
          if (s === 0) break;
        }
      }
      return best;
    };
    const show = (viaHave) => {
      while (shown.size < PER_WIRE) {
        const i = pick();
        if (i < 0) return;
        shown.add(i);
        everShown.add(i);
        given[i]++;
        shownTotal++;
        if (viaHave) origHave(i);
        else mark(i);
      }
    };
    const release = (i) => shown.delete(i);
    const origBitfield = wire.bitfield.bind(wire);
    const origHave = wire.have.bind(wire);
    let started = false;
    wire.bitfield = () => {
      if (started) return;
      started = true;
      show(false);
      origBitfield(bf);
    };
    wire.haveAll = () => wire.bitfield();
    wire.on('bitfield', (field) => {
      for (let i = 0; i < n; i++) {
        if (field.get(i) && !theirs.has(i)) {
          theirs.add(i);
          holders[i]++;
        }
      }
    });
    wire.on('have', (i) => {
      if (theirs.has(i)) return;
      theirs.add(i);
      holders[i]++;
      release(i);
      if (started) show(true);
    });
    wire.on('request', (i, _offset, length) => {
      const r = (requested.get(i) ?? 0) + length;
      requested.set(i, r);
      if (r >= (i === n - 1 ? lastLen : pieceLen)) {
        release(i);
        if (started) show(true);
      }
    });
    wire.on('upload', (b) => (sentBytes += b));
    wire.once('close', () => {
      for (const i of shown) if (!requested.has(i)) given[i]--;
      shown.clear();
      for (const i of theirs) holders[i]--;
      theirs.clear();
    });
  });

  return {
    port: client.torrentPort,
    stats: () => ({ uploaded: sentBytes, shown: shownTotal, pieces: n }),
    close: () => new Promise((resolve) => client.destroy(() => resolve())),
  };
}
