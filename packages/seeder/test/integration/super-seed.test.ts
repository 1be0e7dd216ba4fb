import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import Protocol from 'bittorrent-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTorrent, startSeeder, type CreatedTorrent, type Seeder } from '../../src/index.js';
import {
  cleanup,
  digestFolder,
  makeOsFolder,
  requireBuilt,
  spawnNode,
  startTrackerProcess,
  tempDir,
  type JsonLine,
  type JsonProcess,
} from './_helpers.js';

const PIECE = 256 * 1024;
const BLOCK = 16 * 1024;

/**
 * A hand-written peer (bittorrent-protocol on a real socket): records which pieces the seeder shows it
 * (first BITFIELD, then HAVEs), fetches the pieces it is told to, and never sends HAVE itself.
 */
class Probe {
  readonly shown: number[] = [];
  private greeted = false;
  readonly socket: Socket;
  closed = false;
  readonly wire = new Protocol();
  private waiters: (() => void)[] = [];

  constructor(port: number, infoHash: string, pieceCount: number, peerId = randomBytes(20).toString('hex')) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.on('error', () => {});
    this.socket.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w();
    });
    this.wire.on('error', () => this.socket.destroy());
    this.socket.pipe(this.wire).pipe(this.socket);
    const wake = (): void => {
      for (const w of this.waiters.splice(0)) w();
    };
    this.wire.on('bitfield', (field: { get(i: number): boolean }) => {
      this.greeted = true;
      for (let i = 0; i < pieceCount; i++) if (field.get(i)) this.shown.push(i);
      wake();
    });
    this.wire.on('have-all', () => {
      this.greeted = true;
      for (let i = 0; i < pieceCount; i++) this.shown.push(i);
      wake();
    });
    this.wire.on('have', (i: number) => (this.shown.push(i), wake()));
    this.wire.on('unchoke', wake);
    this.wire.handshake(infoHash, peerId, { dht: false });
    // an empty bitfield: webtorrent takes a peer that sends none for a seed, and chokes it
    this.wire.bitfield(new Uint8Array(Math.ceil(pieceCount / 8)));
  }

  /** Resolves once `pred()` holds (checked on every message that can change it). */
  async until(pred: () => boolean, what: string, ms = 30_000): Promise<void> {
    const t0 = Date.now();
    while (!pred()) {
      if (Date.now() - t0 > ms) throw new Error(`probe: timeout waiting for ${what}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 200);
      });
    }
  }

  /** Sends INTERESTED (after the seeder's first bitfield) and waits for UNCHOKE. */
  async interested(): Promise<void> {
    await this.until(() => this.greeted, 'first bitfield');
    this.wire.interested();
    await this.until(() => !this.wire.peerChoking, 'unchoke');
  }

  /** Fetches `blocks` blocks (all by default) of a piece; resolves with the bytes. */
  async fetch(index: number, length: number, blocks = Infinity): Promise<Buffer> {
    const parts: Promise<Uint8Array>[] = [];
    for (let off = 0, b = 0; off < length && b < blocks; off += BLOCK, b++) {
      parts.push(
        new Promise((res, rej) =>
          this.wire.request(index, off, Math.min(BLOCK, length - off), (err, block) =>
            err || !block ? rej(err ?? new Error('no block')) : res(block),
          ),
        ),
      );
    }
    return Buffer.concat(await Promise.all(parts));
  }

  close(): void {
    this.socket.destroy();
  }
}

describe('super-seeding (superSeed, BEP 16 in spirit)', () => {
  let root: string;
  let osDir: string;
  let created: CreatedTorrent;
  let torrentPath: string;
  let pieceHashes: string[];
  let tracker: Awaited<ReturnType<typeof startTrackerProcess>>;
  let expected: Record<string, string>;
  const procs: JsonProcess[] = [];
  const probes: Probe[] = [];
  const seeders: Seeder[] = [];

  beforeAll(async () => {
    requireBuilt();
    root = await tempDir('superseed');
    osDir = join(root, 'srv', 'debian');
    await makeOsFolder(osDir, { vmlinuz: 3_000_001, 'initrd.img': 13_000_000 });
    expected = await digestFolder(osDir);
    created = await createTorrent(osDir, { pieceLength: PIECE });
    torrentPath = join(root, 'debian.torrent');
    await writeFile(torrentPath, created.torrent);
    // piece hashes, to check what the probe fetched
    const all = Buffer.concat([
      await import('node:fs/promises').then((fs) => fs.readFile(join(osDir, 'initrd.img'))),
      await import('node:fs/promises').then((fs) => fs.readFile(join(osDir, 'vmlinuz'))),
    ]);
    pieceHashes = [];
    for (let off = 0; off < all.length; off += PIECE)
      pieceHashes.push(
        createHash('sha1')
          .update(all.subarray(off, off + PIECE))
          .digest('hex'),
      );
    tracker = await startTrackerProcess();
  });

  afterAll(async () => {
    for (const p of probes) p.close();
    await Promise.all(procs.map((p) => p.kill('SIGKILL')));
    await Promise.all(seeders.map((s) => s.close()));
    await tracker?.proc.kill();
    await cleanup(root);
  });

  const seed = async (extra: object = {}): Promise<Seeder> => {
    const s = await startSeeder({
      torrents: [{ torrent: created.torrent, dir: osDir }],
      port: 0,
      host: '127.0.0.1',
      announce: [tracker.http, tracker.udp],
      ...extra,
    });
    seeders.push(s);
    return s;
  };
  const probe = (s: Seeder, peerId?: string): Probe => {
    const p = new Probe(s.port, created.infoHash, created.pieceCount, peerId);
    probes.push(p);
    return p;
  };
  const pieceLen = (i: number): number =>
    i === created.pieceCount - 1 ? created.size - PIECE * (created.pieceCount - 1) : PIECE;
  const peer = (name: string, serverPort: number): JsonProcess => {
    const p = spawnNode('peer.mjs', {
      torrent: torrentPath,
      dir: join(root, name),
      announce: [tracker.http, tracker.udp],
      serverPeers: [`127.0.0.1:${serverPort}`],
    });
    procs.push(p);
    return p;
  };
  const done = (l: JsonLine): boolean => l.event === 'done';

  it('shows a new peer one piece, and the next by HAVE once it was sent (the peer never sends HAVE)', async () => {
    const seeder = await seed({ superSeedSlots: 1 });
    try {
      const p = probe(seeder);
      await p.until(() => p.shown.length >= 1, 'first bitfield');
      expect(p.shown.length).toBe(1);
      await p.interested();
      for (let k = 0; k < 4; k++) {
        await p.until(() => p.shown.length > k, `piece ${k + 1}`);
        const i = p.shown[k]!;
        const data = await p.fetch(i, pieceLen(i));
        expect(createHash('sha1').update(data).digest('hex')).toBe(pieceHashes[i]);
      }
      await p.until(() => p.shown.length >= 5, 'a fifth HAVE');
      expect(new Set(p.shown).size).toBe(p.shown.length); // never the same piece twice
      expect(seeder.stats()[0]!.superSeed).toMatchObject({ shown: 5, stalls: 0 });
    } finally {
      for (const p of probes.splice(0)) p.close();
      await seeders.pop()?.close();
    }
  });

  it('superSeed: false keeps the plain seed: every piece in the first message', async () => {
    const seeder = await seed({ superSeed: false });
    try {
      const p = probe(seeder);
      await p.until(() => p.shown.length > 0, 'first bitfield');
      expect(p.shown.length).toBe(created.pieceCount);
      expect(seeder.stats()[0]!.superSeed).toBeUndefined();
    } finally {
      for (const p of probes.splice(0)) p.close();
      await seeders.pop()?.close();
    }
  });

  it('never deadlocks: a peer that never asks and one that leaves mid-piece do not stop a lone downloader', async () => {
    const seeder = await seed({ superSeedSlots: 1 });
    try {
      const idle = probe(seeder); // handshakes, is shown a piece, never sends INTERESTED
      await idle.until(() => idle.shown.length === 1, 'first bitfield');
      const quitter = probe(seeder);
      await quitter.interested();
      await quitter.until(() => quitter.shown.length >= 1, 'a piece after the stall');
      await quitter.fetch(quitter.shown[0]!, pieceLen(quitter.shown[0]!), 4); // a quarter of it
      quitter.close();
      const r = await peer('lone', seeder.port).next(done, 60_000);
      expect(r.downloaded).toBe(created.size);
      expect(await digestFolder(join(root, 'lone', 'debian'))).toEqual(expected);
      expect(seeder.stats()[0]!.superSeed!.stalls).toBeGreaterThanOrEqual(1);
    } finally {
      for (const p of probes.splice(0)) p.close();
      await Promise.all(procs.splice(0).map((p) => p.kill()));
      await seeders.pop()?.close();
    }
  });

  it('a slow peer whose slot stalled is shown the next piece when its late HAVE arrives', async () => {
    // A machine under load (a VM under TCG) fetched part of its piece, got the rest elsewhere and
    // announced it only after the slot's stall timer: it has nothing left to request, so the HAVE
    // must bring it back, or it waits forever.
    const seeder = await seed({ superSeedSlots: 1 });
    try {
      const p = probe(seeder);
      await p.interested();
      await p.until(() => p.shown.length >= 1, 'a piece');
      const i = p.shown[0]!;
      await p.fetch(i, pieceLen(i), 2);
      await p.until(() => seeder.stats()[0]!.superSeed!.stalls >= 1, 'the slot to stall');
      expect(p.shown).toEqual([i]);
      p.wire.have(i);
      await p.until(() => p.shown.length >= 2, 'a second piece after the late HAVE', 10_000);
      expect(p.shown[1]).not.toBe(i);
    } finally {
      for (const p of probes.splice(0)) p.close();
      await seeders.pop()?.close();
    }
  });

  it('keeps one connection per peer: a second one with a connected peer id is closed', async () => {
    const seeder = await seed();
    try {
      const id = randomBytes(20).toString('hex');
      const first = probe(seeder, id);
      await first.interested();
      const second = probe(seeder, id);
      await second.until(() => second.closed, 'the second connection to close');
      // the first one still works
      await first.until(() => first.shown.length >= 1, 'a piece');
      const i = first.shown[0]!;
      const data = await first.fetch(i, pieceLen(i));
      expect(createHash('sha1').update(data).digest('hex')).toBe(pieceHashes[i]);
      expect(first.closed).toBe(false);
    } finally {
      for (const p of probes.splice(0)) p.close();
      await seeders.pop()?.close();
    }
  });

  it('a swarm of 4 finishes byte-exact while the server uploads far less than 4 images', async () => {
    // a slow server link, as in a room: the downloaders must get most pieces from each other
    const seeder = await seed({ uploadLimit: 4 * 1024 * 1024 });
    try {
      const names = ['s1', 's2', 's3', 's4'];
      const results = await Promise.all(names.map((n) => peer(n, seeder.port).next(done, 120_000)));
      for (const [i, r] of results.entries()) {
        expect(r.downloaded).toBe(created.size);
        expect(await digestFolder(join(root, names[i]!, 'debian'))).toEqual(expected);
      }
      const up = seeder.stats()[0]!.uploaded;
      expect(up / created.size).toBeLessThan(1.6);
      expect(results.reduce((s, r) => s + (r.fromPeers as number), 0)).toBeGreaterThan(2 * created.size);
    } finally {
      await Promise.all(procs.splice(0).map((p) => p.kill()));
      await seeders.pop()?.close();
    }
  });
});
