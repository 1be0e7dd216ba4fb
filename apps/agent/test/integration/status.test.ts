import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StatusReporter } from '../../src/status.js';

/** The agent's status reporter against a real HTTP server on loopback that answers as told. */
let answer: (req: IncomingMessage, res: ServerResponse) => void = (_q, r) => r.writeHead(204).end();
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => answer(req, res));
});
let url: string;

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/clients/aa/status`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const seeding = { phase: 'seeding', os: 'room', progress: 1 } as const;

describe('StatusReporter', () => {
  it("hands back the server's count of machines still waiting for the OS", async () => {
    answer = (_q, r) => r.writeHead(200, { 'content-type': 'application/json' }).end('{"waiting":3}\n');
    expect(await new StatusReporter(url, {}).report(seeding)).toEqual({ kind: 'answered', waiting: 3 });
  });

  it('reads 204, a body that is not the answer, a refusal and silence for what they are', async () => {
    const cases: [typeof answer, unknown][] = [
      [(_q, r) => r.writeHead(204).end(), { kind: 'answered' }],
      [(_q, r) => r.writeHead(200).end('{"waiting":-1}'), { kind: 'answered' }],
      [(_q, r) => r.writeHead(200).end('not json'), { kind: 'answered' }],
      [(_q, r) => r.writeHead(429).end('slow down\n'), { kind: 'failed' }],
      [() => {}, { kind: 'failed' }], // never answers: the timeout gives up
    ];
    for (const [serve, reply] of cases) {
      answer = serve;
      expect(await new StatusReporter(url, {}).report(seeding)).toEqual(reply);
    }
  });

  it('skips a same-phase report within a second, and reports nothing without a server', async () => {
    answer = (_q, r) => r.writeHead(204).end();
    const rep = new StatusReporter(url, {});
    expect((await rep.report(seeding)).kind).toBe('answered');
    expect(await rep.report(seeding)).toEqual({ kind: 'skipped' });
    expect(await new StatusReporter(undefined, {}).report(seeding)).toEqual({ kind: 'skipped' });
  });
});
