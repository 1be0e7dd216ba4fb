import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LOG_BATCH_BYTES, LOG_LINE_CHARS, LogStream, plain } from './log-stream.js';

/** A loopback HTTP server that records each log batch; `status` decides its answer. */
async function collector() {
  const state = { status: 204 };
  const batches: { lines: string[]; dropped: number; bytes: number }[] = [];
  const waiters: (() => void)[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      batches.push({
        ...(JSON.parse(body.toString()) as { lines: string[]; dropped: number }),
        bytes: body.length,
      });
      res.writeHead(state.status).end();
      waiters.splice(0).forEach((w) => w());
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/clients/52:54:00:00:00:01/log`;
  return {
    url,
    batches,
    state,
    /** Resolves once `n` batches arrived. */
    until: (n: number) =>
      new Promise<void>((resolve) => {
        const check = () => (batches.length >= n ? resolve() : waiters.push(check));
        check();
      }),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

let open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(open.map((o) => o.close()));
  open = [];
});

describe('LogStream', () => {
  it('sends console lines in one batch, escape sequences removed', async () => {
    const c = await collector();
    open.push(c);
    const s = new LogStream(c.url, { flushMs: 10 });
    s.line('\x1b[H\x1b[2JBooting Debian');
    s.line('Loading Debian (kexec)');
    await c.until(1);
    expect(c.batches[0]).toMatchObject({ lines: ['Booting Debian', 'Loading Debian (kexec)'], dropped: 0 });
  });

  it('keeps only the latest of consecutive status lines (progress redraws)', async () => {
    const c = await collector();
    open.push(c);
    const s = new LogStream(c.url, { flushMs: 10_000 });
    s.line('Booting Demo');
    for (let i = 0; i <= 100; i += 10) s.status(`downloading ${i}%`);
    s.line('Loading Demo');
    await s.flush();
    expect(c.batches[0]!.lines).toEqual(['Booting Demo', 'downloading 100%', 'Loading Demo']);
  });

  it('holds at most maxQueue lines while the server refuses and reports how many it dropped', async () => {
    const c = await collector();
    open.push(c);
    c.state.status = 503;
    const s = new LogStream(c.url, { flushMs: 10_000, maxQueue: 50 });
    for (let i = 0; i < 120; i++) s.line(`line ${i}`);
    expect(s.pending).toBe(50);
    await s.flush(); // refused: the batch goes back to the queue
    expect(s.failed).toBe(1);
    expect(s.pending).toBe(50);
    c.state.status = 204;
    await s.flush();
    expect(s.sent).toBe(1);
    expect(c.batches[1]!.lines).toEqual(Array.from({ length: 50 }, (_, i) => `line ${70 + i}`));
    expect(c.batches[1]!.dropped).toBe(70);
  });

  it('gives up quietly when nothing listens', async () => {
    const s = new LogStream('http://127.0.0.1:9/api/v1/clients/52:54:00:00:00:01/log', { flushMs: 10_000 });
    s.line('x');
    await s.flush();
    expect([s.sent, s.failed, s.pending]).toEqual([0, 1, 1]);
  });

  it('cuts batches under the server body limit and sends the rest in later batches', async () => {
    const c = await collector();
    open.push(c);
    const s = new LogStream(c.url, { flushMs: 1 });
    const long = 'x'.repeat(LOG_LINE_CHARS * 2);
    for (let i = 0; i < 60; i++) s.line(`${i} ${long}`);
    const batches = Math.ceil((60 * (LOG_LINE_CHARS + 3)) / LOG_BATCH_BYTES);
    await c.until(batches);
    expect(c.batches.every((b) => b.bytes <= LOG_BATCH_BYTES)).toBe(true);
    expect(c.batches.flatMap((b) => b.lines)).toHaveLength(60);
    expect(c.batches[0]!.lines[0]).toHaveLength(LOG_LINE_CHARS);
  });

  it('has one batch in flight at a time: lines written meanwhile wait for the next', async () => {
    const c = await collector();
    open.push(c);
    const s = new LogStream(c.url, { flushMs: 10 });
    s.line('a');
    const first = s.flush();
    s.line('b');
    expect(s.flush()).toBe(first);
    await first;
    await c.until(2);
    expect(c.batches.map((b) => b.lines)).toEqual([['a'], ['b']]);
  });

  it('does nothing without a server URL', async () => {
    const s = new LogStream(undefined);
    s.line('x');
    expect(s.pending).toBe(0);
    await s.flush();
    expect(LogStream.url(undefined, 8080, '52:54:00:00:00:01')).toBeUndefined();
    expect(LogStream.url('10.0.0.1', 8080, '52:54:00:AA:00:01')).toBe(
      'http://10.0.0.1:8080/api/v1/clients/52%3A54%3A00%3Aaa%3A00%3A01/log',
    );
  });

  it('plain() drops control characters', () => {
    expect(plain('\x1b[1mbold\x1b[0m\x07\r')).toBe('bold');
  });
});
