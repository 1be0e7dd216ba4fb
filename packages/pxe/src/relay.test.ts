// Relayed requests (RFC 2131 §4.1, §4.3.1; RFC 3046) through the handler, packets laid out by hand.
import { describe, expect, it } from 'vitest';
import type { DhcpServerEvents } from './events.js';
import { DhcpHandler, type Via } from './handler.js';
import { ipToNumber } from './ip.js';
import { LeaseStore } from './lease-store.js';
import { decodePacket, type DhcpPacket } from './packet.js';
import { staticPlan } from './plan.js';
import { resolveOptions, type DhcpServerOptions } from './server-options.js';
import type { InterfaceInfo } from './transport.js';

const iface: InterfaceInfo = {
  name: 'br0',
  index: 2,
  address: '10.77.0.1',
  netmask: '255.255.255.0',
  broadcast: '10.77.0.255',
};
const RELAY = [10, 78, 0, 1];
/** Option 82 as dhcrelay -a writes it: sub-option 1 (circuit id) "far0", sub-option 2 (remote id). */
const AGENT = [82, 12, 1, 4, 0x66, 0x61, 0x72, 0x30, 2, 4, 0x0a, 0x4e, 0x00, 0x01];

/** A request laid out by hand (RFC 2131 §2 figure 1), from 52:54:00:78:00:10. */
function request(o: { giaddr?: number[]; ciaddr?: number[]; options: number[] }): Buffer {
  const b = Buffer.alloc(240);
  b[0] = 1; // op BOOTREQUEST
  b[1] = 1; // htype Ethernet
  b[2] = 6; // hlen
  b[3] = o.giaddr ? 1 : 0; // hops: one relay
  b.writeUInt32BE(0x0badcafe, 4); // xid
  Buffer.from(o.ciaddr ?? [0, 0, 0, 0]).copy(b, 12); // ciaddr
  Buffer.from(o.giaddr ?? [0, 0, 0, 0]).copy(b, 24); // giaddr: the relay's address on the client's subnet
  Buffer.from([0x52, 0x54, 0, 0x78, 0, 0x10]).copy(b, 28); // chaddr
  b.writeUInt32BE(0x63825363, 236); // magic cookie
  return Buffer.concat([b, Buffer.from([...o.options, 255])]);
}
/** 53 = DISCOVER, 60 = "PXEClient" (a boot client), 93 = arch 0 (BIOS). */
const DISCOVER = [53, 1, 1, 60, 9, ...Buffer.from('PXEClient'), 93, 2, 0, 0];
const requestFor = (ip: number[]) => [53, 1, 3, 50, 4, ...ip, 54, 4, 10, 77, 0, 1, 93, 2, 0, 0];

interface Sent {
  packet: DhcpPacket;
  bytes: Buffer;
  address: string;
  port: number;
  via: Via;
}

function harness(extra: Partial<DhcpServerOptions> = {}) {
  const opts: DhcpServerOptions = {
    interface: 'br0',
    serverAddress: '10.77.0.1',
    mode: 'server',
    range: { start: '10.77.0.100', end: '10.77.0.150' },
    subnets: [
      {
        range: { start: '10.78.0.100', end: '10.78.0.150' },
        subnetMask: '255.255.255.0',
        router: '10.78.0.1',
        leaseTime: 600,
      },
    ],
    planFor: staticPlan({ scriptUrl: 'http://10.77.0.1:8080/boot.ipxe' }),
    ...extra,
  };
  const o = resolveOptions(opts, iface);
  const store = o.pool
    ? new LeaseStore({
        start: o.pool.start,
        end: o.pool.end,
        relayPools: o.subnets.map((s) => s.pool),
        exclude: [ipToNumber('10.77.0.1')],
        reservations: o.reservations,
        leaseTimeMs: o.leaseTime * 1000,
      })
    : null;
  const sent: Sent[] = [];
  const events: { name: string; payload: unknown }[] = [];
  const handler = new DhcpHandler(o, store, {
    send: (bytes, address, port, via) =>
      sent.push({ packet: decodePacket(bytes), bytes, address, port, via }),
    emit: <K extends keyof DhcpServerEvents>(name: K, ...a: DhcpServerEvents[K]) =>
      void events.push({ name, payload: a[0] }),
    closed: () => false,
  });
  const from = { address: '10.78.0.1', port: 67 };
  return { handler, sent, events, from };
}

/** Option codes of an encoded reply in wire order (no overload in these small replies). */
function optionOrder(bytes: Buffer): number[] {
  const codes: number[] = [];
  for (let i = 240; i < bytes.length && bytes[i] !== 255;) {
    const code = bytes[i]!;
    if (code === 0) {
      i++;
      continue;
    }
    codes.push(code);
    i += 2 + bytes[i + 1]!;
  }
  return codes;
}

describe('relayed requests', () => {
  it('offers from the pool of the subnet holding giaddr, unicast to the relay on port 67', async () => {
    const { handler, sent } = harness();
    await handler.handle(
      request({ giaddr: RELAY, options: [...DISCOVER, ...AGENT] }),
      { address: '10.78.0.1', port: 67 },
      'dhcp',
    );
    expect(sent).toHaveLength(1);
    const [s] = sent as [Sent];
    expect([s.address, s.port]).toEqual(['10.78.0.1', 67]);
    expect(s.packet.yiaddr).toBe('10.78.0.100');
    expect(s.packet.giaddr).toBe('10.78.0.1');
    expect(s.packet.options.get(1)).toEqual(Uint8Array.of(255, 255, 255, 0));
    expect(s.packet.options.get(3)).toEqual(Uint8Array.of(10, 78, 0, 1));
    expect(s.packet.options.get(28)).toEqual(Uint8Array.of(10, 78, 0, 255));
    expect(s.packet.options.get(51)).toEqual(Uint8Array.of(0, 0, 0x02, 0x58)); // 600 s
    expect(s.packet.file).toBe('undionly.kpxe');
  });

  it('echoes option 82 byte for byte, as the last option (RFC 3046 §2.2)', async () => {
    const { handler, sent, from } = harness();
    await handler.handle(request({ giaddr: RELAY, options: [...AGENT, ...DISCOVER] }), from, 'dhcp');
    const [s] = sent as [Sent];
    expect(s.packet.options.get(82)).toEqual(Uint8Array.from(AGENT.slice(2)));
    expect(optionOrder(s.bytes).at(-1)).toBe(82);
  });

  it('acks a relayed REQUEST to the relay and naks a foreign address with the broadcast bit', async () => {
    const { handler, sent, events, from } = harness();
    await handler.handle(
      request({ giaddr: RELAY, options: [...requestFor([10, 78, 0, 120]), ...AGENT] }),
      from,
      'dhcp',
    );
    await handler.handle(request({ giaddr: RELAY, options: requestFor([10, 77, 0, 120]) }), from, 'dhcp');
    const [ack, nak] = sent as [Sent, Sent];
    expect([ack.address, ack.port, ack.packet.options.get(53)?.[0]]).toEqual(['10.78.0.1', 67, 5]);
    expect(ack.packet.yiaddr).toBe('10.78.0.120');
    expect(ack.packet.options.get(82)).toEqual(Uint8Array.from(AGENT.slice(2)));
    expect([nak.address, nak.port, nak.packet.options.get(53)?.[0]]).toEqual(['10.78.0.1', 67, 6]);
    expect(nak.packet.flags & 0x8000).toBe(0x8000);
    expect(events.filter((e) => e.name === 'lease').map((e) => (e.payload as { type: string }).type)).toEqual(
      ['acked', 'nak'],
    );
  });

  it('renews a routed client by its ciaddr in that subnet, straight back to it', async () => {
    const { handler, sent, from } = harness();
    const renew = [53, 1, 3, 93, 2, 0, 0];
    await handler.handle(request({ ciaddr: [10, 78, 0, 121], options: renew }), from, 'dhcp');
    const [s] = sent as [Sent];
    expect([s.address, s.port, s.packet.options.get(53)?.[0]]).toEqual(['10.78.0.121', 68, 5]);
    expect(s.packet.options.get(3)).toEqual(Uint8Array.of(10, 78, 0, 1));
  });

  it('does not answer a relay from a subnet it has no pool for, and says which', async () => {
    const { handler, sent, events, from } = harness();
    await handler.handle(request({ giaddr: [10, 79, 0, 1], options: DISCOVER }), from, 'dhcp');
    expect(sent).toHaveLength(0);
    expect(events).toEqual([
      {
        name: 'ignored',
        payload: {
          mac: '52:54:00:78:00:10',
          reason: 'unknown-subnet',
          detail: 'relayed by 10.79.0.1, which is in no configured subnet',
        },
      },
    ]);
  });

  it('answers relayed boot clients in proxy mode: the offer goes to the relay, 82 echoed', async () => {
    const { handler, sent, from } = harness({ mode: 'proxy', range: undefined, subnets: undefined });
    await handler.handle(request({ giaddr: RELAY, options: [...DISCOVER, ...AGENT] }), from, 'dhcp');
    const [s] = sent as [Sent];
    expect([s.address, s.port, s.packet.yiaddr]).toEqual(['10.78.0.1', 67, '0.0.0.0']);
    expect(Buffer.from(s.packet.options.get(60)!).toString()).toBe('PXEClient');
    expect(s.packet.options.get(82)).toEqual(Uint8Array.from(AGENT.slice(2)));
  });

  it('gives an ARM64 machine no offer at all, with the reason', async () => {
    const { handler, sent, events, from } = harness();
    const arm = [53, 1, 1, 60, 9, ...Buffer.from('PXEClient'), 93, 2, 0, 11];
    await handler.handle(request({ giaddr: RELAY, options: arm }), from, 'dhcp');
    expect(sent).toHaveLength(0);
    expect(events).toContainEqual({
      name: 'ignored',
      payload: {
        mac: '52:54:00:78:00:10',
        reason: 'arch-unsupported',
        detail: 'arm64 UEFI (arch 11), phase-1 is x86_64',
      },
    });
  });
});

describe('subnets option', () => {
  const base: DhcpServerOptions = {
    interface: 'br0',
    serverAddress: '10.77.0.1',
    mode: 'server',
    range: { start: '10.77.0.100', end: '10.77.0.150' },
    planFor: () => null,
  };
  const sub = (start: string, end: string, extra = {}) => ({
    range: { start, end },
    subnetMask: '255.255.255.0',
    ...extra,
  });
  it.each([
    [
      [sub('10.78.0.10', '10.79.0.20')],
      'subnets[0]: range.end 10.79.0.20 is outside 10.78.0.0/255.255.255.0',
    ],
    [
      [sub('10.77.0.10', '10.77.0.20')],
      "subnets[0]: 10.77.0.0/255.255.255.0 overlaps the served interface's own subnet",
    ],
    [
      [sub('10.78.0.10', '10.78.0.20'), sub('10.78.0.30', '10.78.0.40')],
      'subnets[1]: 10.78.0.0/255.255.255.0 overlaps subnets[0]',
    ],
    [
      [sub('10.78.0.10', '10.78.0.20', { router: '10.79.0.1' })],
      'subnets[0]: router 10.79.0.1 is outside 10.78.0.0/255.255.255.0',
    ],
  ])('rejects %j with one line', (subnets, message) => {
    expect(() => resolveOptions({ ...base, subnets }, iface)).toThrow(
      expect.objectContaining({ code: 'PXE_BAD_OPTION', message }),
    );
  });

  it('accepts a reservation inside a relayed subnet', () => {
    const o = resolveOptions(
      {
        ...base,
        subnets: [sub('10.78.0.10', '10.78.0.20')],
        reservations: [{ mac: '52:54:00:78:00:10', ip: '10.78.0.5' }],
      },
      iface,
    );
    expect(o.reservations.get('52:54:00:78:00:10')).toBe(ipToNumber('10.78.0.5'));
  });
});
