// Server lifecycle and the options meant for tests and embedding: AbortSignal, close/asyncDispose,
// non-default ports, logger.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DhcpMessageType, DhcpOption } from '../../src/constants.js';
import { Agent } from './helpers/agent.js';
import { RawClient } from './helpers/exchange.js';
import { createLab, randomMac, type Lab } from './helpers/netns.js';
import { craft, pxeClass } from './helpers/packets.js';

const SCRIPT = 'http://10.77.0.1:8080/boot.ipxe';
const base = { interface: 'br0', serverAddress: '10.77.0.1', plan: { static: { scriptUrl: SCRIPT } } };
const serverMode = { ...base, mode: 'server', range: { start: '10.77.0.100', end: '10.77.0.100' } };

describe('server lifecycle', () => {
  let lab: Lab;
  let server: Agent;
  let client: Agent;

  beforeAll(async () => {
    lab = await createLab();
    await lab.clients[0]!.ns.ip('addr', 'add', '10.77.0.250/24', 'brd', '+', 'dev', 'cli0');
    server = await Agent.start(lab.server);
    client = await Agent.start(lab.clients[0]!.ns);
  });
  afterAll(async () => {
    await client?.dispose();
    await server?.dispose();
    await lab?.dispose();
  });

  it('closes when its AbortSignal fires, freeing port 67', async () => {
    await server.call('startServer', { name: 'a', opts: { ...serverMode, abortable: true } });
    await expect(server.call('startServer', { name: 'b', opts: serverMode })).rejects.toMatchObject({
      code: 'PXE_BIND',
    });
    await server.call('abortServer', { name: 'a' });
    await new Promise((r) => setTimeout(r, 100));
    await server.call('startServer', { name: 'b', opts: serverMode });
    await server.call('stopServer', { name: 'b' });
  });

  it('treats asyncDispose and a second close() as the same close', async () => {
    await server.call('startServer', { name: 'c', opts: serverMode });
    await server.call('disposeServer', { name: 'c' });
    await server.call('startServer', { name: 'c', opts: serverMode });
    await server.call('stopServer', { name: 'c' });
  });

  it('serves on unprivileged ports: DHCP on 1067 to clients on 1068, proxy ACKs on 14011', async () => {
    await server.call('startServer', {
      name: 'p',
      opts: { ...base, mode: 'proxy', port: 1067, clientPort: 1068, proxyPort: 14011 },
    });
    try {
      const raw = await RawClient.open(client, 'cli0', 1068);
      const d = craft({ mac: randomMac(), arch: 0, vendorClass: pxeClass(0) });
      await raw.send(d, '10.77.0.255', 1067);
      expect((await raw.reply(d.xid))?.packet.file).toBe('undionly.kpxe');
      const r = craft({
        mac: randomMac(),
        type: DhcpMessageType.Request,
        arch: 7,
        vendorClass: pxeClass(7),
        ciaddr: '10.77.0.250',
      });
      await raw.send(r, '10.77.0.1', 14011);
      const ack = await raw.reply(r.xid);
      expect(ack?.from).toBe('10.77.0.1:14011');
      expect(ack?.packet.options.get(DhcpOption.DhcpMessageType)).toEqual(Uint8Array.of(DhcpMessageType.Ack));
      await client.call('udpClose', { name: raw.name });
    } finally {
      await server.call('stopServer', { name: 'p' });
    }
  });

  it('reports through the logger it is given: listening, and a warning when the pool runs out', async () => {
    await server.call('startServer', { name: 'l', opts: { ...serverMode, log: true } });
    try {
      await server.waitFor((e) => e.event === 'log' && e.name === 'l' && e.msg === 'dhcp: listening', 2000);
      const raw = await RawClient.open(client, 'cli0');
      const first = craft({ mac: randomMac() });
      await raw.send(first, '10.77.0.255');
      expect((await raw.reply(first.xid))?.packet.yiaddr).toBe('10.77.0.100');
      const second = craft({ mac: randomMac() });
      await raw.send(second, '10.77.0.255');
      await server.waitFor(
        (e) => e.event === 'log' && e.level === 'warn' && e.msg === 'dhcp: address pool exhausted',
        3000,
      );
      expect(await raw.reply(second.xid, 500)).toBeNull();
      await client.call('udpClose', { name: raw.name });
    } finally {
      await server.call('stopServer', { name: 'l' });
    }
  });

  it('closes even while a planFor never settles, and answers nothing afterwards', async () => {
    const opts = { ...base, mode: 'proxy', plan: { static: { scriptUrl: SCRIPT }, delayMs: 600_000 } };
    await server.call('startServer', { name: 'slow', opts });
    const raw = await RawClient.open(client, 'cli0');
    const d = craft({ mac: randomMac(), arch: 0, vendorClass: pxeClass(0) });
    await raw.send(d, '10.77.0.255');
    await new Promise((r) => setTimeout(r, 200));
    await server.call('stopServer', { name: 'slow' });
    expect(await raw.reply(d.xid, 500)).toBeNull();
    expect(server.serverEvents('slow', 'boot')).toEqual([]);
    await client.call('udpClose', { name: raw.name });
  });
});
