import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import Protocol from 'bittorrent-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTorrent, download, type CreatedTorrent } from '../../src/index.js';
import { cleanup, digestFolder, makeOsFolder, tempDir } from './_helpers.js';

const BLOCK = 16 * 1024;

/**
 * A hand-written seed (bittorrent-protocol on a real socket) holding every piece, with the peer id it
 * is given: it records the length of every REQUEST and answers it from the file.
 */
async function startProbeSeed(
  file: Buffer,
  pieceLength: number,
  infoHash: string,
  peerIdPrefix: string,
  /** every this many requests, choke instead of answering (BEP 6: REJECT it), unchoke 20 ms later */
  chokeEvery = 0,
): Promise<{ server: Server; port: number; lengths: number[]; rejected: () => number }> {
  const lengths: number[] = [];
  let rejected = 0;
  const pieces = Math.ceil(file.length / pieceLength);
  const server = createServer((socket) => {
    const wire = new Protocol();
    socket.on('error', () => {});
    wire.on('error', () => socket.destroy());
    socket.pipe(wire).pipe(socket);
    wire.on('handshake', () => {
      const id = Buffer.concat([Buffer.from(peerIdPrefix, 'latin1'), randomBytes(12)]).toString('hex');
      wire.handshake(infoHash, id, { dht: false, fast: true });
      const field = new Uint8Array(Math.ceil(pieces / 8)).fill(0xff);
      wire.bitfield(field);
    });
    wire.on('interested', () => wire.unchoke());
    wire.on(
      'request',
      (
        index: number,
        offset: number,
        length: number,
        respond: (err: Error | null, b?: Uint8Array) => void,
      ) => {
        lengths.push(length);
        const at = index * pieceLength + offset;
        if (!chokeEvery || lengths.length % chokeEvery !== 0)
          return respond(null, file.subarray(at, at + length));
        // choking rejects the pending request (BEP 6: a REJECT of its very length)
        rejected += (wire as unknown as { peerRequests: unknown[] }).peerRequests.length;
        wire.choke();
        setTimeout(() => wire.unchoke(), 20);
      },
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  return {
    server,
    port: typeof addr === 'object' && addr ? addr.port : 0,
    lengths,
    rejected: () => rejected,
  };
}

// Consecutive 16 KiB requests for one piece leave as one REQUEST of up to 128 KiB, to BootTorrent
// peers only (fast-wire.ts, BIG_REQUEST_BYTES); the answer is cut back into blocks on arrival. Span
// requests (span-request.ts) ask the previous version's peers for 128 KiB, this version's for a piece.
describe('coalesced requests', () => {
  let root: string;
  let osDir: string;
  let created: CreatedTorrent;
  let file: Buffer;

  beforeAll(async () => {
    root = await tempDir('bigreq');
    osDir = join(root, 'srv', 'img');
    await makeOsFolder(osDir, { 'image.bin': 3 * 1024 * 1024 + 12_345 });
    created = await createTorrent(osDir, { pieceLength: 256 * 1024 });
    file = await readFile(join(osDir, 'image.bin'));
  });
  afterAll(() => cleanup(root));

  const fetchFrom = async (
    prefix: string,
    name: string,
    chokeEvery = 0,
  ): Promise<{ lengths: number[]; rejected: number }> => {
    const probe = await startProbeSeed(file, created.pieceLength, created.infoHash, prefix, chokeEvery);
    try {
      const dl = await download({
        torrent: created.torrent,
        dir: join(root, name),
        serverPeers: [`127.0.0.1:${probe.port}`],
        webSeeds: [],
      });
      const { downloaded } = dl.stats();
      await dl.close();
      expect(downloaded).toBe(created.size);
      expect(await digestFolder(join(root, name, 'img'))).toEqual(await digestFolder(osDir));
      return { lengths: probe.lengths, rejected: probe.rejected() };
    } finally {
      probe.server.close();
    }
  };

  it('asks a BootTorrent peer for up to 128 KiB at once and stores the blocks byte-exact', async () => {
    const { lengths } = await fetchFrom('-BS0100-', 'from-ours');
    expect(Math.max(...lengths)).toBe(128 * 1024);
    expect(lengths.every((l) => l <= 128 * 1024)).toBe(true);
  });

  // this version's peers (peer-id.ts, MAX_SPAN_BYTES): one REQUEST per piece
  it('asks a BootTorrent peer of this version for whole pieces and stores them byte-exact', async () => {
    const { lengths } = await fetchFrom('-BS0110-', 'from-this-version');
    expect(Math.max(...lengths)).toBe(created.pieceLength);
    expect(lengths.filter((l) => l === created.pieceLength).length).toBeGreaterThanOrEqual(10);
  });

  it('asks again for the blocks of rejected whole-piece requests and stores them byte-exact', async () => {
    const { lengths, rejected } = await fetchFrom('-BA0110-', 'rejected-whole', 3);
    expect(rejected).toBeGreaterThan(0);
    expect(lengths.reduce((a, b) => a + b, 0)).toBeGreaterThan(created.size);
  });

  it('asks any other client for 16 KiB blocks only', async () => {
    const { lengths } = await fetchFrom('-AR1360-', 'from-other');
    expect(lengths.length).toBeGreaterThan(0);
    expect(lengths.every((l) => l <= BLOCK)).toBe(true);
  });

  // span-request.ts: a rejected 128 KiB request gives its blocks back, and they are asked for again
  it('asks again for the blocks of rejected 128 KiB requests and stores them byte-exact', async () => {
    const { lengths, rejected } = await fetchFrom('-BS0100-', 'rejected', 7);
    expect(rejected).toBeGreaterThan(0);
    expect(lengths.some((l) => l === 128 * 1024)).toBe(true);
    expect(lengths.reduce((a, b) => a + b, 0)).toBeGreaterThan(created.size);
  });
});
