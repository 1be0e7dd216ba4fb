/**
 * The blksize clamp to the path MTU, for real: inside a network namespace whose loopback has a
 * 1500-byte MTU (the root namespace is never touched), a client asking for 8192 gets 1468, the
 * largest block that fits one unfragmented IPv4 datagram, and the download is byte-exact.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetns, type Netns } from '@boottorrent/testing/lab';
import { run, serverInNetns, sha256, tempRoot, tool, WIRES } from './helpers.js';

describe.each(WIRES)('%s wire', (wire) => {
  const root = tempRoot('bt-tftp-mtu-');
  let ns: Netns | undefined;
  let server: ReturnType<typeof serverInNetns> | undefined;
  let hash: string;

  beforeAll(async () => {
    hash = root.file('f', 300_000);
    ns = await createNetns({ prefix: 'bttftp' });
    await ns.ip('link', 'set', 'lo', 'mtu', '1500');
  });
  afterAll(async () => {
    server?.kill();
    await ns?.close();
    root.cleanup();
  });

  it('clamps blksize to the MTU of the interface towards the client (1500 → 1468)', async () => {
    server = serverInNetns(ns!.name, root.dir, wire);
    const port = await server.waitFor<number>('port');
    const local = join(root.dir, 'got');
    const r = await run(tool('ip'), [
      'netns',
      'exec',
      ns!.name,
      tool('curl'),
      '-sS',
      '--fail',
      '--tftp-blksize',
      '8192',
      '-o',
      local,
      `tftp://127.0.0.1:${port}/f`,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(sha256(readFileSync(local))).toBe(hash);
    const start = await server.waitFor<{ wire: string; options: { blksize: number } }>('start');
    expect(start.options.blksize).toBe(1468);
    expect(start.wire).toBe(wire);
  }, 60_000);
});
