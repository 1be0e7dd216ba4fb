/**
 * Malformed-packet fuzz: 10⁵ random and mutated datagrams (CVE-shaped option values among the seeds)
 * to the request port and to a live transfer's port. Bounded in count and time. Afterwards the server
 * has accounted for every packet (refused + dropped + started), logged every refusal, and still
 * serves a normal download byte-exact.
 */
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  encodeAck,
  encodeData,
  encodeError,
  encodeOack,
  encodeRequest,
  Opcode,
  startTftpServer,
  type TftpServer,
} from '../../src/index.js';
import { download, tempRoot, WIRES } from './helpers.js';

describe.each(WIRES)('%s wire', (wire) => {
  const TOTAL = 100_000;
  const root = tempRoot('bt-tftp-fuzz-');
  let server: TftpServer;
  let warnings = 0;
  let debugs = 0;

  /** Seeds: valid packets and the shapes of known TFTP server CVEs. */
  const SEEDS: Buffer[] = [
    encodeRequest(Opcode.RRQ, 'f', 'octet', { blksize: 1468, tsize: 0, windowsize: 16, timeout: 1 }),
    encodeRequest(Opcode.RRQ, 'f', 'netascii'),
    encodeRequest(Opcode.RRQ, 'f', 'octet', { utimeout: 1 }), // tftpd-hpa CVE-2011-2199
    encodeRequest(Opcode.RRQ, 'f', 'octet', { utimeout: '9'.repeat(60) }),
    encodeRequest(Opcode.RRQ, 'f', 'octet', { blksize: 0, timeout: 0, windowsize: 0 }),
    encodeRequest(Opcode.RRQ, 'f', 'octet', { blksize: 65536, windowsize: 65536, timeout: 256, tsize: -1 }),
    encodeRequest(Opcode.RRQ, 'f', 'octet', { blksize: '1e9', timeout: '0x10', windowsize: '-1' }),
    encodeRequest(Opcode.RRQ, 'A'.repeat(600), 'octet'), // atftpd CVE-2019-11365: long name / options
    encodeRequest(
      Opcode.RRQ,
      'f',
      'octet',
      Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`x${i}`, 'y'.repeat(60)])),
    ), // atftpd CVE-2021-41054
    Buffer.concat([encodeRequest(Opcode.RRQ, 'f', 'octet'), Buffer.alloc(400, 0x41)]), // dnsmasq CVE-2009-2957/2958: unterminated tail
    Buffer.from('\x00\x01f\x00octet\x00blksize\x00', 'latin1'), // option without value
    encodeRequest(Opcode.WRQ, 'f', 'octet'),
    encodeRequest(Opcode.RRQ, '../../etc/passwd', 'octet'),
    encodeAck(1),
    encodeData(1, Buffer.alloc(512)),
    encodeError(0, 'x'),
    encodeOack([['blksize', '512']]),
  ];

  function rng(seed: number) {
    return () => (seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32;
  }

  function mutate(rand: () => number): Buffer {
    const r = rand();
    if (r < 0.3) {
      const len = Math.floor(rand() * (rand() < 0.9 ? 64 : 1500));
      const b = Buffer.allocUnsafe(len);
      for (let i = 0; i < len; i++) b[i] = Math.floor(rand() * 256);
      if (len >= 2 && rand() < 0.7) b[0] = 0; // mostly plausible opcodes
      return b;
    }
    const seed = SEEDS[Math.floor(rand() * SEEDS.length)]!;
    let b: Buffer = Buffer.from(seed);
    const ops = 1 + Math.floor(rand() * 4);
    for (let k = 0; k < ops; k++) {
      const at = Math.floor(rand() * Math.max(1, b.length));
      const what = rand();
      if (what < 0.35 && b.length > 0) b[at] = Math.floor(rand() * 256);
      else if (what < 0.5) b = b.subarray(0, at);
      else if (what < 0.65 && b.length > 0) b[at] = 0;
      else if (what < 0.8)
        b = Buffer.concat([
          b.subarray(0, at),
          Buffer.alloc(Math.floor(rand() * 100), Math.floor(rand() * 256)),
          b.subarray(at),
        ]);
      else
        b = Buffer.concat([
          b,
          Buffer.from(
            `\0${['blksize', 'timeout', 'tsize', 'windowsize', 'utimeout'][k % 5]}\0${Math.floor(rand() * 2 ** 32) - 2 ** 31}\0`,
          ),
        ]);
    }
    return b;
  }

  const send = (s: Socket, b: Buffer, port: number) =>
    new Promise<void>((resolve) => s.send(b, port, '127.0.0.1', () => resolve()));

  beforeAll(async () => {
    root.file('f', 200_000);
    root.file('g', 2 * 1024 * 1024);
    server = await startTftpServer({
      wire,
      root: root.dir,
      host: '127.0.0.1',
      port: 0,
      timeoutMs: 20,
      retries: 1,
      logger: { warn: () => warnings++, debug: () => debugs++ },
    });
  });
  afterAll(async () => {
    await server?.close();
    root.cleanup();
  });

  it('survives 10⁵ random and mutated packets, accounts and logs each, then serves a normal download', async () => {
    const started = Date.now();
    const rand = rng(20260101);
    const sockets = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const s = createSocket('udp4');
        await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
        return s;
      }),
    );
    // A live transfer whose own client also sends junk to the transfer port (right source, bad bytes).
    const victim = createSocket('udp4');
    let transferPort = 0;
    victim.on('message', (msg, rinfo) => {
      transferPort = rinfo.port;
      if (msg.readUInt16BE(0) === Opcode.DATA)
        victim.send(encodeAck(msg.readUInt16BE(2)), rinfo.port, '127.0.0.1');
    });
    await new Promise<void>((resolve) => victim.bind(0, '127.0.0.1', resolve));
    await send(victim, encodeRequest(Opcode.RRQ, 'g', 'octet', { blksize: 8 }), server.address.port);

    let toServer = 0;
    const accounted = () => {
      const s = server.stats();
      return s.refused + s.dropped + s.started - 1; // minus the victim's transfer
    };
    for (let i = 0; i < TOTAL; i++) {
      const pkt = mutate(rand);
      if (transferPort && i % 10 === 0) await send(victim, pkt, transferPort);
      else {
        await send(sockets[i % sockets.length]!, pkt, server.address.port);
        toServer++;
      }
      if (i % 64 === 63) {
        // let the server drain its socket so the kernel drops nothing
        const deadline = Date.now() + 2000;
        while (accounted() < toServer && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
      }
      expect(Date.now() - started).toBeLessThan(100_000);
    }
    const deadline = Date.now() + 5000;
    while (accounted() < toServer && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    sockets.forEach((s) => s.close());
    victim.close();

    const stats = server.stats();
    expect(accounted()).toBe(toServer);
    expect(stats.refused).toBeGreaterThan(TOTAL / 3);
    expect(warnings).toBeGreaterThanOrEqual(stats.refused); // every refusal logged (plus failed transfers)
    expect(debugs).toBeGreaterThanOrEqual(stats.dropped);

    const r = await download({
      port: server.address.port,
      file: 'f',
      options: { blksize: 1468, windowsize: 4 },
    });
    expect(r.data.equals(readFileSync(join(root.dir, 'f')))).toBe(true);
  }, 150_000);
});
