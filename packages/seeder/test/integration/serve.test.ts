import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import Protocol from 'bittorrent-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTorrent, download, startSeeder, type CreatedTorrent } from '../../src/index.js';
import { cleanup, digestFolder, makeOsFolder, tempDir } from './_helpers.js';

const PIECE = 1024 * 1024;
const BLOCK = 16 * 1024;

/** One BitTorrent message: <length><id><32-bit numbers> (BEP 3). */
function message(id: number, ...numbers: number[]): Buffer {
  const b = Buffer.alloc(5 + 4 * numbers.length);
  b.writeUInt32BE(1 + 4 * numbers.length, 0);
  b[4] = id;
  numbers.forEach((n, i) => b.writeUInt32BE(n, 5 + 4 * i));
  return b;
}

/**
 * A hand-written leecher (bittorrent-protocol on a real socket, BEP 6 on, a peer id that is not
 * BootTorrent's): records every PIECE that arrives, asked for or not.
 */
class Leecher {
  readonly socket: Socket;
  readonly wire = new Protocol();
  /** `index:offset:length` of every PIECE received */
  readonly pieces: string[] = [];
  /** resolves when the seeder's first BITFIELD or HAVE ALL arrived (it listens for requests from then on) */
  readonly greeted: Promise<void>;

  constructor(port: number, infoHash: string, pieceCount: number, peerIdPrefix = '') {
    this.socket = connect(port, '127.0.0.1');
    this.socket.on('error', () => {});
    this.wire.on('error', () => this.socket.destroy());
    this.socket.pipe(this.wire).pipe(this.socket);
    const w = this.wire as unknown as {
      on(e: 'piece', l: (index: number, offset: number, block: Uint8Array) => void): void;
    };
    w.on('piece', (index, offset, block) => this.pieces.push(`${index}:${offset}:${block.length}`));
    this.greeted = new Promise((r) => {
      this.wire.once('bitfield', () => r());
      this.wire.once('have-all', () => r()); // a plain seed's (BEP 6)
    });
    const id = Buffer.concat([Buffer.from(peerIdPrefix, 'latin1'), randomBytes(20 - peerIdPrefix.length)]);
    this.wire.handshake(infoHash, id.toString('hex'), { dht: false, fast: true });
    this.wire.bitfield(new Uint8Array(Math.ceil(pieceCount / 8)));
  }

  /** Sends INTERESTED once greeted and resolves on UNCHOKE. */
  async interested(): Promise<void> {
    await this.greeted;
    const unchoked = new Promise<void>((r) => this.wire.once('unchoke', () => r()));
    this.wire.interested();
    await unchoked;
  }

  /** One REQUEST through the library; resolves with the block or rejects (REJECT, choke). */
  request(index: number, offset: number, length: number): Promise<Uint8Array> {
    return new Promise((res, rej) =>
      this.wire.request(index, offset, length, (err, block) =>
        err || !block ? rej(err ?? new Error('no block')) : res(block),
      ),
    );
  }

  close(): void {
    this.socket.destroy();
  }
}

// The serve path (serve.ts): peers' REQUESTs answered from the seeder's piece cache, without
// webtorrent's per-request chain; the protocol (REJECT while choking, CANCEL) as before.
describe('requests served from the piece cache', () => {
  let root: string;
  let osDir: string;
  let created: CreatedTorrent;
  let image: Buffer;

  beforeAll(async () => {
    root = await tempDir('serve');
    osDir = join(root, 'srv', 'img');
    await makeOsFolder(osDir, { 'image.bin': 6 * PIECE + 12_345 });
    created = await createTorrent(osDir, { pieceLength: PIECE });
    image = await readFile(join(osDir, 'image.bin'));
  });
  afterAll(() => cleanup(root));

  it('serves two downloaders byte-exact, the second from pieces the first had read', async () => {
    await using seeder = await startSeeder({
      torrents: [{ torrent: created.torrent, dir: osDir }],
      host: '127.0.0.1',
      port: 0,
    });
    const get = (dir: string) =>
      download({
        torrent: created.torrent,
        dir: join(root, dir),
        serverPeers: [`127.0.0.1:${seeder.port}`],
        webSeeds: [],
      });
    {
      await using dl = await get('first');
      expect(dl.stats()).toMatchObject({ downloaded: created.size, fromServer: created.size });
      expect(await digestFolder(dl.dir)).toEqual(await digestFolder(osDir));
    }
    const first = seeder.stats()[0]!.requests!;
    // Every request was taken by the serve path (none was sent while choked or out of range). The
    // super-seeder had the cache read each piece when it showed it: each request of a piece found it
    // read, or waited for that one read.
    expect(first.fromCache + first.afterRead).toBe(first.received);
    expect(first.fromCache).toBeGreaterThan(0);
    {
      await using dl = await get('second');
      expect(dl.stats()).toMatchObject({ downloaded: created.size, fromServer: created.size });
      expect(await digestFolder(dl.dir)).toEqual(await digestFolder(osDir));
    }
    const second = seeder.stats()[0]!.requests!;
    // 6 MiB fits the seeder's cache (SEEDER_PIECE_CACHE_BYTES): each request of the second answered at once
    expect(second.received).toBeGreaterThan(first.received);
    expect(second.fromCache - first.fromCache).toBe(second.received - first.received);
    expect(second.afterRead).toBe(first.afterRead);
    expect(seeder.stats()[0]!.uploaded).toBe(2 * created.size);
  });

  it('rejects a request while choking (BEP 6), drops a cancelled one, serves 16 and 128 KiB blocks', async () => {
    await using seeder = await startSeeder({
      torrents: [{ torrent: created.torrent, dir: osDir }],
      host: '127.0.0.1',
      port: 0,
      // a plain seed: a super-seeder reads each piece it shows ahead, and piece 3 must not be read yet
      superSeed: false,
    });
    const peer = new Leecher(seeder.port, created.infoHash, created.pieceCount);
    try {
      // not interested yet, so choked: the library's REJECT
      await peer.greeted;
      const rejected = new Promise<number[]>((r) => peer.wire.once('reject', (...a: number[]) => r(a)));
      peer.socket.write(message(6, 0, 0, BLOCK)); // raw: the library asks nothing of a choking peer
      expect(await rejected).toEqual([0, 0, BLOCK]);
      expect(seeder.stats()[0]!.requests).toEqual({ received: 1, fromCache: 0, afterRead: 0 });

      await peer.interested();
      // REQUEST and CANCEL in one segment: piece 3 is not read yet, so the request is waiting when
      // the CANCEL arrives, and must never be answered
      peer.socket.write(Buffer.concat([message(6, 3, 0, BLOCK), message(8, 3, 0, BLOCK)]));
      // the next blocks of piece 3 leave after anything sent for the cancelled one (one TCP stream)
      const small = await peer.request(3, BLOCK, BLOCK);
      const big = await peer.request(3, 2 * BLOCK, 8 * BLOCK);
      const last = await peer.request(created.pieceCount - 1, 0, 12_345);
      expect(Buffer.from(small)).toEqual(image.subarray(3 * PIECE + BLOCK, 3 * PIECE + 2 * BLOCK));
      expect(Buffer.from(big)).toEqual(image.subarray(3 * PIECE + 2 * BLOCK, 3 * PIECE + 10 * BLOCK));
      expect(Buffer.from(last)).toEqual(image.subarray(6 * PIECE));
      expect(peer.pieces).not.toContain(`3:0:${BLOCK}`);
      expect(peer.pieces).toEqual([`3:${BLOCK}:${BLOCK}`, `3:${2 * BLOCK}:${8 * BLOCK}`, `6:0:12345`]);
      const r = seeder.stats()[0]!.requests!;
      expect(r.received).toBe(5);
      expect(r.fromCache + r.afterRead).toBe(3);
    } finally {
      peer.close();
    }
  });

  it('serves a whole piece to a peer of this version, rejects one it does not hold, closes on others', async () => {
    await using seeder = await startSeeder({
      torrents: [{ torrent: created.torrent, dir: osDir }],
      host: '127.0.0.1',
      port: 0,
      superSeed: false,
    });
    const ours = new Leecher(seeder.port, created.infoHash, created.pieceCount, '-BA0110-');
    const other = new Leecher(seeder.port, created.infoHash, created.pieceCount);
    try {
      await ours.interested();
      const whole = await ours.request(2, 0, PIECE);
      expect(Buffer.from(whole)).toEqual(image.subarray(2 * PIECE, 3 * PIECE));
      // a span past the last piece's end (12,345 bytes): a REJECT (BEP 6), the connection stays
      await expect(ours.request(created.pieceCount - 1, 0, PIECE / 4)).rejects.toThrow();
      expect(Buffer.from(await ours.request(3, PIECE / 2, PIECE / 2))).toEqual(
        image.subarray(3 * PIECE + PIECE / 2, 4 * PIECE),
      );
      // more than 128 KiB from a peer that is not ours: closed, as webtorrent does
      await other.interested();
      const closed = new Promise<void>((r) => other.socket.once('close', () => r()));
      other.request(1, 0, PIECE).catch(() => {});
      await closed;
    } finally {
      ours.close();
      other.close();
    }
  });
});
