// PROTOTYPE, benchmark only: a server seeder with a super-seeding policy (in the spirit of BEP 16), to
// measure what @boottorrent/seeder would gain from one. It is not the product's seeder; the numbers it
// gives are the "after" of the recommendation in docs/performance.md (## swarm).
//
// Policy: the server never shows a client its whole bitfield. At most SLOTS connections at a time are
// shown one piece each (a partial bitfield, then HAVE messages), chosen as the piece shown to the fewest
// connections so far (then held by the fewest clients); when that piece has been sent, the slot moves
// round robin to the next connection. Clients fetch everything else from each other, so the server
// sends each piece about once while pieces no client holds remain, then keeps feeding the globally
// rarest pieces.
import { dirname } from 'node:path';
import WebTorrent from 'webtorrent';

/**
 * Upload slots: connections that are being sent a piece at once (BTSW_PROTO_SLOTS, 0 = all). Few slots
 * make each piece arrive fast, so clients can pass it on sooner; a slot moves round robin to the next
 * connection when its piece has been sent.
 */
export const SLOTS = Number(process.env.BTSW_PROTO_SLOTS ?? 4);

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
  let active = 0;
  const waiting = []; // connections waiting for an upload slot, round robin

  const pick = (st) => {
    let best = -1;
    let score = Infinity;
    const start = Math.floor(Math.random() * n);
    for (let k = 0; k < n; k++) {
      const i = (start + k) % n;
      if (st.everShown.has(i) || st.theirs.has(i)) continue;
      const s = given[i] * 4096 + holders[i];
      if (s < score) {
        score = s;
        best = i;
        if (s === 0) break;
      }
    }
    return best;
  };
  /** Shows `st` its next piece (HAVE, or in its first bitfield); false if it needs nothing from us. */
  const activate = (st) => {
    const i = pick(st);
    if (i < 0) return false;
    st.shown.add(i);
    st.everShown.add(i);
    given[i]++;
    shownTotal++;
    st.active = true;
    active++;
    if (st.started) st.origHave(i);
    else st.bf[i >> 3] |= 0x80 >> (i & 7);
    return true;
  };
  const deactivate = (st) => {
    if (!st.active) return;
    st.active = false;
    active--;
  };
  const schedule = () => {
    let tries = waiting.length;
    while ((SLOTS === 0 || active < SLOTS) && waiting.length > 0 && tries-- > 0) {
      const st = waiting.shift();
      if (st.closed || st.active) continue;
      if (!activate(st)) waiting.push(st); // nothing for it now; later pieces may be
    }
  };

  t.on('wire', (wire) => {
    const st = {
      wire,
      started: false,
      active: false,
      closed: false,
      shown: new Set(), // shown pieces not yet fully sent
      everShown: new Set(),
      sent: new Map(), // piece -> bytes sent on this connection
      theirs: new Set(), // pieces this client has told us it holds
      bf: Buffer.alloc(Math.ceil(n / 8)),
      origHave: wire.have.bind(wire),
    };
    const origBitfield = wire.bitfield.bind(wire);
    const origPiece = wire.piece.bind(wire);
    wire.bitfield = () => {
      if (st.started) return;
      if (SLOTS === 0 || active < SLOTS) activate(st);
      else waiting.push(st);
      st.started = true;
      origBitfield(st.bf);
    };
    wire.haveAll = () => wire.bitfield();
    wire.piece = (index, offset, buffer) => {
      origPiece(index, offset, buffer);
      sentBytes += buffer.length;
      const b = (st.sent.get(index) ?? 0) + buffer.length;
      st.sent.set(index, b);
      if (b >= (index === n - 1 ? lastLen : pieceLen)) done(index);
    };
    // A shown piece is done when we sent all of it or the client got it (maybe partly from a peer).
    const done = (i) => {
      if (!st.shown.delete(i) || st.shown.size > 0) return;
      deactivate(st);
      waiting.push(st);
      schedule();
    };
    const onHas = (i) => {
      if (st.theirs.has(i)) return;
      st.theirs.add(i);
      holders[i]++;
      done(i);
    };
    wire.on('bitfield', (field) => {
      for (let i = 0; i < n; i++) if (field.get(i)) onHas(i);
    });
    wire.on('have', onHas);
    wire.once('close', () => {
      st.closed = true;
      for (const i of st.shown) if (!st.sent.has(i)) given[i]--;
      st.shown.clear();
      for (const i of st.theirs) holders[i]--;
      st.theirs.clear();
      deactivate(st);
      schedule();
    });
  });

  return {
    port: client.torrentPort,
    stats: () => ({ uploaded: sentBytes, shown: shownTotal, pieces: n }),
    close: () => new Promise((resolve) => client.destroy(() => resolve())),
  };
}
