/**
 * Sends that find the socket send buffer full. On loopback a datagram leaves the sender's buffer at
 * once, so this runs in a network namespace whose loopback is slowed by a token bucket (tc tbf,
 * 100 Mbit/s): datagrams wait in the qdisc, still charged to the sender, and a window larger than the
 * send buffer (212992 bytes) makes send(2) return EAGAIN. node:dgram (libuv) then queues the rest; the
 * native wire must do the same, in order, not drop them: atftp gets 2 MiB in windows of 64 × 8192
 * (512 KiB each) byte-exact and the server retransmits nothing (with the RFC 2349 timeout fixed at 2 s:
 * the adaptive one would probe each window's tail while it drains).
 *
 * A retransmit proves a lost datagram only when the receiver lost none: atftp, starved of CPU on a busy
 * machine, lets its 208 KiB receive buffer overflow, and the server then rightly resends the rest of
 * the window. So each run counts the namespace's UDP receive-buffer drops (/proc/net/snmp); a run with
 * drops says nothing about the sender and is repeated, up to five times.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetns, type Netns } from '@boottorrent/testing/lab';
import { run, serverInNetns, sha256, tempRoot, tool, WIRES } from './helpers.js';

describe.each(WIRES)('%s wire', (wire) => {
  const root = tempRoot('bt-tftp-sndbuf-');
  let ns: Netns | undefined;
  let server: ReturnType<typeof serverInNetns> | undefined;
  let hash: string;

  beforeAll(async () => {
    hash = root.file('f', 2 << 20);
    ns = await createNetns({ prefix: 'bttftpq' });
    await ns.run(tool('tc'), [
      'qdisc',
      'add',
      'dev',
      'lo',
      'root',
      'tbf',
      'rate',
      '100mbit',
      'burst',
      '32kb',
      'latency',
      '2s',
    ]);
  });
  afterAll(async () => {
    server?.kill();
    await ns?.close();
    root.cleanup();
  });

  it('queues sends on a full socket buffer instead of dropping them (64 × 8192 windows, tbf 100 Mbit/s)', async () => {
    const runs: string[] = [];
    for (let attempt = 1; attempt <= 5; attempt++) {
      const dropsBefore = rcvbufErrors(ns!.name);
      const end = await transfer();
      const drops = rcvbufErrors(ns!.name) - dropsBefore;
      expect(end).toMatchObject({ wire, options: { windowsize: 64 } });
      expect(end.error).toBeUndefined();
      if (drops === 0) {
        expect(end.retransmits, `${end.retransmits} retransmits with no datagram dropped by a receiver`).toBe(
          0,
        );
        return;
      }
      runs.push(`${end.retransmits} retransmits, ${drops} datagrams dropped by atftp's full receive buffer`);
    }
    expect.fail(
      `every run lost datagrams at the receiver (machine too busy to judge the sender): ${runs.join('; ')}`,
    );
  }, 300_000);

  /** One download by atftp from a fresh server; resolves with the server's transfer-end event. */
  async function transfer() {
    server?.kill();
    // windowBufferBytes lifted so the whole 64-block window is granted (atftp enlarges nothing).
    server = serverInNetns(ns!.name, root.dir, wire, {
      windowBufferBytes: 2 ** 30,
      clampBlockSizeToMtu: false,
    });
    const port = await server.waitFor<number>('port');
    const local = join(root.dir, 'got');
    const r = await run(
      tool('ip'),
      [
        'netns',
        'exec',
        ns!.name,
        tool('atftp'),
        '-g',
        '-r',
        'f',
        '-l',
        local,
        '--option',
        'blksize 8192',
        '--option',
        'windowsize 64',
        '--option',
        'timeout 2', // a fixed timeout: no adaptive tail probe while a 512 KiB window drains at 100 Mbit/s
        '127.0.0.1',
        String(port),
      ],
      { timeoutMs: 60_000 },
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(sha256(readFileSync(local))).toBe(hash);
    return server.waitFor<{
      wire: string;
      options: { windowsize: number };
      retransmits: number;
      packets: number;
      error?: string;
    }>('end');
  }
});

/** UDP datagrams dropped in namespace `ns` because a socket's receive buffer was full. */
function rcvbufErrors(ns: string): number {
  const snmp = execFileSync(tool('ip'), ['netns', 'exec', ns, 'cat', '/proc/net/snmp'], { encoding: 'utf8' });
  const [names, values] = snmp.split('\n').filter((l) => l.startsWith('Udp: '));
  const i = names!.split(' ').indexOf('RcvbufErrors');
  if (i < 0) throw new Error(`no RcvbufErrors in /proc/net/snmp of ${ns}`);
  return Number(values!.split(' ')[i]);
}
