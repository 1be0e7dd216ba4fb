/**
 * The native datagram wire's own edges, on real sockets (127.0.0.1 and ::1): it loads (in CI a missing
 * addon fails here), ICMP port unreachable, close with datagrams queued, IPv6, a datagram longer than
 * the receive buffer, a datagram from a wrong source, send errors; and the fallback to node:dgram of a
 * copy of the built package that has no addon.
 */
import { execFileSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  encodeRequest,
  Opcode,
  startTftpServer,
  type TransferErrorEvent,
  type TransferStartEvent,
} from '../../src/index.js';
import { loadNativeWire, type NativeWireAddon } from '../../src/native-wire.js';
import { NATIVE_RX_BYTES, openTransferSocket, type TransferSocket } from '../../src/transfer-socket.js';
import { run, sha256, tempRoot, tool, WIRES } from './helpers.js';
import { rawPeer } from './raw.js';

function addon(): NativeWireAddon {
  const r = loadNativeWire();
  if ('error' in r) throw new Error(r.error);
  return r.addon;
}

/** A UDP peer on `host` that records what it receives. */
async function peer(host = '127.0.0.1') {
  const socket: Socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  const got: Buffer[] = [];
  socket.on('message', (m) => got.push(m));
  await new Promise<void>((resolve) => socket.bind(0, host, resolve));
  const send = (bytes: Buffer, port: number) =>
    new Promise<void>((resolve, reject) =>
      socket.send(bytes, port, host, (err) => (err ? reject(err) : resolve())),
    );
  return { socket, got, port: socket.address().port, send, close: () => socket.close() };
}

const until = async (cond: () => boolean, ms = 2000) => {
  for (const end = Date.now() + ms; !cond() && Date.now() < end;) await new Promise((r) => setTimeout(r, 5));
};

describe('native wire', () => {
  const opened: TransferSocket[] = [];
  const peers: { close(): void }[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
    for (const p of peers.splice(0)) p.close();
  });
  async function open(client: { address: string; port: number }, local = '127.0.0.1') {
    const s = await openTransferSocket('native', local, client, addon());
    opened.push(s);
    return s;
  }
  async function recording(s: TransferSocket) {
    const got: Buffer[] = [];
    const errors: string[] = [];
    s.listen(
      (msg, length) => got.push(Buffer.from(msg.subarray(0, length))),
      (err) => errors.push(String(err.code)),
    );
    return { got, errors };
  }

  it('is built and loads (a missing addon fails here and in every native suite, in CI too)', () => {
    expect(typeof addon().open).toBe('function');
  });

  it('sends to and receives from its connected peer, and reports its local address', async () => {
    const p = await peer();
    peers.push(p);
    const s = await open({ address: '127.0.0.1', port: p.port });
    const { got } = await recording(s);
    expect(s).toMatchObject({ wire: 'native', local: { address: '127.0.0.1' } });
    s.send(Buffer.from('to the client'));
    await until(() => p.got.length === 1);
    expect(p.got.map(String)).toEqual(['to the client']);
    await p.send(Buffer.from([0, 4, 0, 1]), s.local.port);
    await until(() => got.length === 1);
    expect(got).toEqual([Buffer.from([0, 4, 0, 1])]);
  });

  it('never delivers a datagram from another address or port (the socket is connected)', async () => {
    const client = await peer();
    const intruder = await peer();
    peers.push(client, intruder);
    const s = await open({ address: '127.0.0.1', port: client.port });
    const { got } = await recording(s);
    await intruder.send(Buffer.from('intruder'), s.local.port);
    await client.send(Buffer.from('client'), s.local.port);
    await until(() => got.length >= 1);
    await new Promise((r) => setTimeout(r, 50));
    expect(got.map(String)).toEqual(['client']);
  });

  it(`cuts a datagram longer than its ${NATIVE_RX_BYTES}-byte receive buffer and delivers the next one whole`, async () => {
    const p = await peer();
    peers.push(p);
    const s = await open({ address: '127.0.0.1', port: p.port });
    const { got, errors } = await recording(s);
    const big = Buffer.alloc(5000);
    for (let i = 0; i < big.length; i++) big[i] = i % 251;
    await p.send(big, s.local.port);
    await p.send(Buffer.from([0, 4, 0, 7]), s.local.port);
    await until(() => got.length === 2);
    expect(got[0]).toEqual(big.subarray(0, NATIVE_RX_BYTES));
    expect(got[1]).toEqual(Buffer.from([0, 4, 0, 7]));
    expect(errors).toEqual([]);
  });

  it('stops delivering at close(), with datagrams still queued, and close() is idempotent', async () => {
    const p = await peer();
    peers.push(p);
    const s = await open({ address: '127.0.0.1', port: p.port });
    const got: number[] = [];
    s.listen(
      (msg) => {
        got.push(msg[3]!);
        void s.close();
        void s.close();
      },
      () => undefined,
    );
    for (let i = 1; i <= 5; i++) await p.send(Buffer.from([0, 4, 0, i]), s.local.port); // all queued before the loop turns
    await new Promise((r) => setTimeout(r, 100));
    expect(got).toEqual([1]);
    s.send(Buffer.from('after close')); // a no-op, not a crash
    await s.close();
  });

  it('reports ECONNREFUSED when the peer port is closed (ICMP port unreachable)', async () => {
    const p = await peer();
    const port = p.port;
    p.close();
    const s = await open({ address: '127.0.0.1', port });
    const { errors } = await recording(s);
    s.send(Buffer.from([0, 3, 0, 1]));
    await until(() => errors.length > 0);
    expect(errors).toEqual(['ECONNREFUSED']);
  });

  it('reports a send error later, through onError, never from send() itself', async () => {
    const p = await peer();
    peers.push(p);
    const s = await open({ address: '127.0.0.1', port: p.port });
    const { errors } = await recording(s);
    s.send(Buffer.alloc(70_000)); // larger than any UDP datagram
    expect(errors).toEqual([]);
    await until(() => errors.length > 0);
    expect(errors).toEqual(['EMSGSIZE']);
  });

  it('works over IPv6 on ::1', async () => {
    const p = await peer('::1');
    peers.push(p);
    const s = await open({ address: '::1', port: p.port }, '::1');
    const { got } = await recording(s);
    expect(s.local.address).toBe('::1');
    s.send(Buffer.from('six'));
    await until(() => p.got.length === 1);
    expect(p.got.map(String)).toEqual(['six']);
    await p.send(Buffer.from([0, 4, 0, 2]), s.local.port);
    await until(() => got.length === 1);
    expect(got).toEqual([Buffer.from([0, 4, 0, 2])]);
  });

  it('refuses bad arguments with an error, not a crash', async () => {
    await expect(
      openTransferSocket('native', 'not-an-ip', { address: '127.0.0.1', port: 9 }, addon()),
    ).rejects.toThrow(/one family/);
    await expect(
      openTransferSocket('native', '::1', { address: '127.0.0.1', port: 9 }, addon()),
    ).rejects.toThrow(/one family/);
    expect(() => addon().send({} as never, Buffer.alloc(1))).toThrow(/not a wire handle/);
  });
});

it("rejects a wire that is not 'auto', 'native' or 'dgram' with TFTP_BAD_OPTION", async () => {
  await expect(startTftpServer({ root: '.', wire: 'fast' as never })).rejects.toMatchObject({
    code: 'TFTP_BAD_OPTION',
    message: `tftp wire: "fast" is not one of 'auto', 'native', 'dgram'`,
  });
});

describe.each(WIRES)('server on the %s wire', (wire) => {
  const root = tempRoot('bt-tftp-wire-');
  const hash = root.file('f', 200_000);
  afterAll(() => root.cleanup());

  it('fails the transfer with TFTP_PEER when the client port is unreachable (ICMP)', async () => {
    await using server = await startTftpServer({ wire, root: root.dir, host: '127.0.0.1', port: 0 });
    const client = await rawPeer();
    const port = client.socket.address().port;
    const failed = new Promise<TransferErrorEvent>((resolve) => server.once('transfer-error', resolve));
    await client.send(encodeRequest(Opcode.RRQ, 'f'), server.address.port);
    const first = (await client.next())!;
    client.close(); // the DATA retransmission (or nothing) now meets a closed port: ICMP unreachable
    const e = await failed;
    expect(first.msg.readUInt16BE(0)).toBe(Opcode.DATA);
    expect(e).toMatchObject({ wire, client: { port }, error: { code: 'TFTP_PEER' } });
    expect(e.error.message).toMatch(/ECONNREFUSED/);
  });

  it('serves curl over IPv6 on ::1 byte-exact', async () => {
    await using server = await startTftpServer({ wire, root: root.dir, host: '::1', port: 0 });
    const started = new Promise<TransferStartEvent>((resolve) => server.once('transfer-start', resolve));
    const out = join(root.dir, `got-${wire}`);
    const r = await run(tool('curl'), ['-sS', '--fail', '-o', out, `tftp://[::1]:${server.address.port}/f`]);
    expect(r.code, r.stderr).toBe(0);
    expect(sha256(readFileSync(out))).toBe(hash);
    expect(await started).toMatchObject({ wire, client: { address: '::1' } });
  });

  it('serves an IPv4 client from a dual-stack server on :: (::ffff:127.0.0.1)', async () => {
    await using server = await startTftpServer({ wire, root: root.dir, host: '::', port: 0 });
    const started = new Promise<TransferStartEvent>((resolve) => server.once('transfer-start', resolve));
    const out = join(root.dir, `got4-${wire}`);
    const r = await run(tool('curl'), [
      '-sS',
      '--fail',
      '-o',
      out,
      `tftp://127.0.0.1:${server.address.port}/f`,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(sha256(readFileSync(out))).toBe(hash);
    expect(await started).toMatchObject({ wire, client: { address: '::ffff:127.0.0.1' } });
  });
});

describe('without the addon (a copy of the built package with no build/)', () => {
  const pkg = tempRoot('bt-tftp-noaddon-');
  afterAll(() => pkg.cleanup());
  const dist = fileURLToPath(new URL('../../dist/index.js', import.meta.url));

  function node(script: string) {
    try {
      return {
        code: 0,
        out: execFileSync(process.execPath, ['--input-type=module', '-e', script], {
          cwd: pkg.dir,
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
        }),
      };
    } catch (err) {
      const e = err as { status: number; stdout: string; stderr: string };
      return { code: e.status, out: e.stdout + e.stderr };
    }
  }

  it("refuses wire 'native' with one line that says how to build it, and 'auto' falls back to node:dgram", () => {
    mkdirSync(join(pkg.dir, 'dist'));
    copyFileSync(dist, join(pkg.dir, 'dist/index.js'));
    writeFileSync(join(pkg.dir, 'package.json'), '{"type":"module"}');
    pkg.file('f', 3000);
    const native = node(`
      import { startTftpServer } from './dist/index.js';
      try { await startTftpServer({ root: '.', host: '127.0.0.1', port: 0, wire: 'native' }); }
      catch (e) { console.log(e.code + ' ' + e.message + ' | ' + e.hint); }`);
    expect(native.out.trim().split('\n')).toHaveLength(1);
    expect(native.out).toMatch(
      /^TFTP_BAD_OPTION tftp wire 'native': .*not built.* \| build it with "npm rebuild @boottorrent\/tftp".*wire: 'dgram'$/m,
    );
    const auto = node(`
      import { startTftpServer } from './dist/index.js';
      const server = await startTftpServer({ root: '.', host: '127.0.0.1', port: 0 });
      const wires = [];
      server.on('transfer-start', (e) => wires.push(e.wire));
      const { spawn } = await import('node:child_process');
      const curl = spawn(${JSON.stringify(tool('curl'))}, ['-sS', '--fail', '-o', 'got', 'tftp://127.0.0.1:' + server.address.port + '/f']);
      const code = await new Promise((r) => curl.on('close', r));
      await server.close();
      console.log(code + ' ' + wires.join()); // one string: a number alone is formatted, in colour if forced`);
    expect(auto.out.trim()).toBe('0 dgram');
    expect(readFileSync(join(pkg.dir, 'got'))).toEqual(readFileSync(join(pkg.dir, 'f')));
  });
});
