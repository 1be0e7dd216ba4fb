import { createSocket, type Socket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientTable, sendWake, startHttpServer, wakeRoutes, type HttpServer } from '../../src/index.js';

/**
 * POST /api/v1/machines/:mac/wake on loopback: the token gate, a bad MAC, and a real magic packet
 * (sent to lo's broadcast, 127.255.255.255, to a UDP port of this test's own listener).
 */
const TOKEN = 'f'.repeat(64);
let http: HttpServer;
let listener: Socket;
let port: number;
const received: Buffer[] = [];
const log: string[] = [];
let base: string;

beforeAll(async () => {
  listener = createSocket('udp4');
  listener.on('message', (m) => received.push(m));
  await new Promise<void>((r) => listener.bind(0, '0.0.0.0', r));
  port = listener.address().port;
  http = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    baseUrl: 'http://127.0.0.1:1',
    phase1: { kernel: '/nonexistent', initrds: [] },
    cmdline: '',
    webSeedFiles: new Map(),
    clients: new ClientTable(),
    routes: wakeRoutes({
      token: TOKEN,
      wake: (mac) => sendWake({ macs: [mac], address: '127.0.0.1', port }),
      log: (m) => log.push(m),
    }),
  });
  base = `http://127.0.0.1:${http.port}/api/v1/machines`;
});
afterAll(async () => {
  await http?.close();
  listener?.close();
});

const post = (path: string, token?: string) =>
  fetch(`${base}/${path}`, {
    method: 'POST',
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });

describe('POST /api/v1/machines/:mac/wake', () => {
  it('refuses a missing or wrong token with 401 and one log line, sending nothing', async () => {
    const none = await post('52:54:00:12:34:56/wake');
    expect(none.status).toBe(401);
    const wrong = await post('52:54:00:12:34:56/wake', 'e'.repeat(64));
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toMatch(/^wrong token: /);
    expect(log).toEqual([
      expect.stringMatching(
        /^refused POST \/api\/v1\/machines\/52:54:00:12:34:56\/wake from 127\.0\.0\.1: missing token \(401\)$/,
      ),
      expect.stringMatching(/: wrong token \(401\)$/),
    ]);
    expect(received).toHaveLength(0);
  });

  it('answers a bad MAC with 400 and one line', async () => {
    const r = await post('52:54:00:12:34/wake', TOKEN);
    expect(r.status).toBe(400);
    expect(await r.text()).toBe('bad MAC "52:54:00:12:34": expected six hex pairs, e.g. 52:54:00:12:34:56\n');
  });

  it('sends one magic packet for the machine and answers 202', async () => {
    const got = new Promise<Buffer>((r) => listener.once('message', r));
    const r = await post('52-54-00-AB-CD-EF/wake', TOKEN);
    expect(r.status).toBe(202);
    expect(await r.json()).toEqual({ mac: '52:54:00:ab:cd:ef', iface: 'lo', to: '127.255.255.255', port });
    const packet = await got;
    const mac = [0x52, 0x54, 0x00, 0xab, 0xcd, 0xef];
    expect([...packet]).toEqual([...Array(6).fill(0xff), ...Array(16).fill(mac).flat()]);
    expect(log.at(-1)).toBe(`wake-on-LAN sent to 52:54:00:ab:cd:ef (127.255.255.255:${port}) by 127.0.0.1`);
    expect(received).toHaveLength(1);
  });
});
