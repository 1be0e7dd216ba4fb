/**
 * Request handling, independent of sockets: decode, classify, ask the plan, answer. Every failure
 * caused by the peer ends as a counted drop or an `ignored` event, never as a throw.
 */
import { DhcpMessageType, DhcpMessageTypeName, DhcpOption } from './constants.js';
import { MalformedPacket } from './errors.js';
import type { DhcpServerEvents, DhcpStats, IgnoreEvent } from './events.js';
import { inSubnet, ipToNumber, subnetOf } from './ip.js';
import type { LeaseStore } from './lease-store.js';
import { BROADCAST_FLAG } from './packet.js';
import { bootClientKind, machineOf, type BootClientKind, type BootPlan, type Machine } from './machine.js';
import { getMaxMessageSize, getMessageType, getRequestedIp, getServerId } from './options.js';
import { decodeUnchecked, encodePacket, type DhcpPacket } from './packet.js';
import { addBootOptions, addNetworkOptions, baseReply, isClientMessage, type ReplyContext } from './reply.js';
import type { ResolvedOptions, ResolvedSubnet } from './server-options.js';

/** Which socket a packet came in on. */
export type Via = 'dhcp' | 'proxy';

/** Side effects the handler needs. */
export interface HandlerHooks {
  send(buf: Buffer, address: string, port: number, via: Via): void;
  emit<K extends keyof DhcpServerEvents>(event: K, ...args: DhcpServerEvents[K]): void;
  /** True once the server is closing: an answer that was waiting on `planFor` is abandoned. */
  closed(): boolean;
}

const NO_ADDR = '0.0.0.0';

export class DhcpHandler {
  readonly stats: DhcpStats = { received: 0, replied: 0, dropped: 0, ignored: 0, droppedByReason: {} };
  private readonly ctx: ReplyContext;
  private readonly net;

  constructor(
    private readonly o: ResolvedOptions,
    private readonly store: LeaseStore | null,
    private readonly hooks: HandlerHooks,
  ) {
    this.ctx = {
      serverAddress: o.serverAddress,
      subnetMask: o.subnetMask,
      broadcast: o.iface.broadcast,
      router: o.router,
      dns: o.dns,
      leaseTime: o.leaseTime,
    };
    this.net = subnetOf(o.iface.address, o.iface.netmask);
  }

  private drop(reason: string, from: { address: string; port: number }, size: number): void {
    this.stats.dropped++;
    this.stats.droppedByReason[reason] = (this.stats.droppedByReason[reason] ?? 0) + 1;
    this.o.logger.debug?.('dhcp: dropped packet', { reason, from: from.address, size });
    this.hooks.emit('dropped', { reason, from: `${from.address}:${from.port}`, size });
  }

  private ignore(mac: string, reason: IgnoreEvent['reason'], detail?: string): void {
    this.stats.ignored++;
    this.o.logger.debug?.('dhcp: not answering', { mac, reason, detail });
    this.hooks.emit('ignored', detail === undefined ? { mac, reason } : { mac, reason, detail });
  }

  /**
   * The relayed subnet a request belongs to: by `giaddr` when relayed (RFC 2131 §4.3.1), by
   * `ciaddr` for a renewal sent straight from a routed client; null for the interface's own
   * subnet; undefined for a relay whose subnet is not configured.
   */
  private subnetFor(req: DhcpPacket): ResolvedSubnet | null | undefined {
    const find = (ip: string) => this.o.subnets.find((s) => inSubnet(ipToNumber(ip), s.net));
    if (req.giaddr !== NO_ADDR) return find(req.giaddr);
    if (req.ciaddr !== NO_ADDR) return find(req.ciaddr) ?? null;
    return null;
  }

  /**
   * Where an answer goes (RFC 2131 §4.1): to the relay's server port when relayed, else to
   * `ciaddr` when the client has an address, else broadcast.
   */
  private dest(req: DhcpPacket, useCiaddr = true): { address: string; port: number } {
    if (req.giaddr !== NO_ADDR) return { address: req.giaddr, port: this.o.relayPort };
    if (useCiaddr && req.ciaddr !== NO_ADDR) return { address: req.ciaddr, port: this.o.clientPort };
    return { address: this.o.replyBroadcast, port: this.o.clientPort };
  }

  private contextOf(sub: ResolvedSubnet | null): ReplyContext {
    if (sub === null) return this.ctx;
    return {
      serverAddress: this.o.serverAddress,
      subnetMask: sub.subnetMask,
      broadcast: sub.broadcast,
      router: sub.router,
      dns: sub.dns,
      leaseTime: sub.leaseTime,
    };
  }

  /** Handles one datagram. Resolves when the answer (if any) was sent. Never rejects. */
  async handle(msg: Buffer, from: { address: string; port: number }, via: Via): Promise<void> {
    this.stats.received++;
    let req: DhcpPacket;
    let type: number;
    let machine: Machine;
    try {
      req = decodeUnchecked(msg);
      if (req.op !== 1) return this.drop('not-a-request', from, msg.length);
      if (req.htype !== 1 || req.hlen !== 6) return this.drop('not-ethernet', from, msg.length);
      const t = getMessageType(req.options);
      if (t === null) return this.drop('no-message-type', from, msg.length);
      if (!isClientMessage(t)) return this.drop('unexpected-message-type', from, msg.length);
      type = t;
      machine = machineOf(req, this.o.iface.name);
    } catch (e) {
      if (e instanceof MalformedPacket) return this.drop(e.reason, from, msg.length);
      this.o.logger.error?.('dhcp: failed to read packet', { error: (e as Error).message });
      return this.drop('internal-error', from, msg.length);
    }
    try {
      const kind = bootClientKind(machine);
      if (this.o.mode === 'server') await this.serve(req, type, machine, kind);
      else await this.proxy(req, type, machine, kind, via, from);
    } catch (e) {
      if (e instanceof MalformedPacket) return this.drop(e.reason, from, msg.length);
      this.o.logger.error?.('dhcp: failed to answer', { mac: machine.mac, error: (e as Error).message });
      this.drop('internal-error', from, msg.length);
    }
  }

  private async plan(machine: Machine, kind: BootClientKind | null): Promise<BootPlan | null | 'skip'> {
    if (kind === null) return null;
    let plan: Awaited<ReturnType<ResolvedOptions['planFor']>>;
    try {
      plan = await this.o.planFor(machine);
      if (this.hooks.closed()) return 'skip';
    } catch (e) {
      this.o.logger.error?.('dhcp: planFor threw', { mac: machine.mac, error: (e as Error).message });
      this.ignore(machine.mac, 'plan-error');
      return 'skip';
    }
    if (plan === null) {
      this.o.logger.info?.('dhcp: no boot plan for machine, not answering', {
        mac: machine.mac,
        arch: machine.arch,
      });
      this.ignore(machine.mac, 'no-plan');
      return 'skip';
    }
    if ('refuse' in plan) {
      this.o.logger.info?.('dhcp: cannot boot this firmware, not answering', {
        mac: machine.mac,
        reason: plan.refuse,
        detail: plan.detail,
      });
      this.ignore(machine.mac, plan.refuse, plan.detail);
      return 'skip';
    }
    return plan;
  }

  private reply(req: DhcpPacket, reply: DhcpPacket, address: string, port: number, via: Via): void {
    // RFC 3046 §2.2: the server copies the Relay Agent Information option into its answer, last.
    const agent = req.options.get(DhcpOption.RelayAgentInformation);
    if (agent !== undefined) {
      reply.options.delete(DhcpOption.RelayAgentInformation);
      reply.options.set(DhcpOption.RelayAgentInformation, agent);
    }
    const max = Math.min(getMaxMessageSize(req.options) ?? 576, 1500) - 28;
    this.hooks.send(encodePacket(reply, { maxSize: Math.max(max, 548) }), address, port, via);
    this.stats.replied++;
  }

  private boot(
    req: DhcpPacket,
    reply: DhcpPacket,
    plan: BootPlan,
    m: Machine,
    kind: BootClientKind,
    message: 'offer' | 'ack' | 'proxy-ack',
  ): void {
    addBootOptions(reply, req, {
      plan,
      machine: m,
      kind,
      mode: this.o.mode,
      serverAddress: this.o.serverAddress,
    });
    this.hooks.emit('boot', {
      mac: m.mac,
      arch: m.arch,
      loader: plan.bootFile,
      nextServer: reply.siaddr,
      isIpxe: m.isIpxe,
      message,
    });
  }

  private async serve(req: DhcpPacket, type: number, m: Machine, kind: BootClientKind | null): Promise<void> {
    const store = this.store as LeaseStore;
    const serverId = getServerId(req.options);
    const ours = serverId === null || serverId === this.o.serverAddress;
    const sub = this.subnetFor(req);
    if (sub === undefined)
      return this.ignore(
        m.mac,
        'unknown-subnet',
        `relayed by ${req.giaddr}, which is in no configured subnet`,
      );
    const ctx = this.contextOf(sub);
    const net = sub?.net ?? this.net;
    const dest = this.dest(req);
    const broadcastDest = this.dest(req, false);
    switch (type) {
      case DhcpMessageType.Discover: {
        const plan = await this.plan(m, kind);
        if (plan === 'skip') return;
        const lease = store.offer(m.mac, getRequestedIp(req.options), sub?.pool);
        if (!lease) {
          this.o.logger.warn?.('dhcp: address pool exhausted', { mac: m.mac });
          return this.ignore(m.mac, 'pool-exhausted');
        }
        const reply = baseReply(req, DhcpMessageType.Offer, this.o.serverAddress);
        reply.yiaddr = lease.ip;
        reply.siaddr = this.o.serverAddress;
        addNetworkOptions(reply, ctx, true);
        if (plan && kind) this.boot(req, reply, plan, m, kind, 'offer');
        this.reply(req, reply, broadcastDest.address, broadcastDest.port, 'dhcp');
        this.hooks.emit('lease', { type: 'offered', mac: m.mac, ip: lease.ip, expiresAt: lease.expiresAt });
        return;
      }
      case DhcpMessageType.Request: {
        if (!ours) {
          store.cancelOffer(m.mac);
          return this.ignore(m.mac, 'other-server');
        }
        const ip = getRequestedIp(req.options) ?? (req.ciaddr !== NO_ADDR ? req.ciaddr : null);
        if (ip === null) throw new MalformedPacket('request-without-address', 'REQUEST names no address');
        const plan = await this.plan(m, kind);
        if (plan === 'skip') return;
        const lease = inSubnet(ipToNumber(ip), net) ? store.commit(m.mac, ip, ctx.leaseTime * 1000) : null;
        if (!lease) {
          const nak = baseReply(req, DhcpMessageType.Nak, this.o.serverAddress);
          // A NAK through a relay has the broadcast bit set: the client has no usable address (§4.3.2).
          if (req.giaddr !== NO_ADDR) nak.flags |= BROADCAST_FLAG;
          this.reply(req, nak, broadcastDest.address, broadcastDest.port, 'dhcp');
          this.hooks.emit('lease', { type: 'nak', mac: m.mac, ip });
          return;
        }
        await store
          .save()
          .catch((e: unknown) =>
            this.o.logger.error?.('dhcp: lease not persisted', { error: (e as Error).message }),
          );
        const reply = baseReply(req, DhcpMessageType.Ack, this.o.serverAddress);
        reply.ciaddr = req.ciaddr;
        reply.yiaddr = lease.ip;
        reply.siaddr = this.o.serverAddress;
        addNetworkOptions(reply, ctx, true);
        if (plan && kind) this.boot(req, reply, plan, m, kind, 'ack');
        this.reply(req, reply, dest.address, dest.port, 'dhcp');
        this.hooks.emit('lease', { type: 'acked', mac: m.mac, ip: lease.ip, expiresAt: lease.expiresAt });
        return;
      }
      case DhcpMessageType.Release: {
        if (serverId !== this.o.serverAddress) return this.ignore(m.mac, 'other-server');
        const lease = store.release(m.mac, req.ciaddr);
        if (lease) this.hooks.emit('lease', { type: 'released', mac: m.mac, ip: lease.ip });
        return;
      }
      case DhcpMessageType.Decline: {
        if (serverId !== this.o.serverAddress) return this.ignore(m.mac, 'other-server');
        const ip = getRequestedIp(req.options);
        if (ip !== null && store.decline(m.mac, ip)) {
          this.o.logger.warn?.('dhcp: client declined address (in use by another host?)', { mac: m.mac, ip });
          this.hooks.emit('lease', { type: 'declined', mac: m.mac, ip });
        }
        return;
      }
      default: {
        // INFORM (RFC 2131 §3.4): configuration only; no yiaddr, no lease time.
        const plan = await this.plan(m, kind);
        if (plan === 'skip') return;
        const reply = baseReply(req, DhcpMessageType.Ack, this.o.serverAddress);
        reply.ciaddr = req.ciaddr;
        addNetworkOptions(reply, ctx, false);
        if (plan && kind) this.boot(req, reply, plan, m, kind, 'ack');
        this.reply(req, reply, dest.address, dest.port, 'dhcp');
        return;
      }
    }
  }

  private async proxy(
    req: DhcpPacket,
    type: number,
    m: Machine,
    kind: BootClientKind | null,
    via: Via,
    from: { address: string; port: number },
  ): Promise<void> {
    if (kind === null) return this.ignore(m.mac, 'not-boot-client');
    const serverId = getServerId(req.options);
    let answer: DhcpMessageType;
    if (via === 'dhcp' && type === DhcpMessageType.Discover) answer = DhcpMessageType.Offer;
    else if (type === DhcpMessageType.Request || type === DhcpMessageType.Inform) {
      // On 67 a REQUEST is for us only if it names us; on 4011 every REQUEST is for us.
      if (via === 'dhcp' && serverId !== this.o.serverAddress) return this.ignore(m.mac, 'other-server');
      answer = DhcpMessageType.Ack;
    } else return;
    const plan = await this.plan(m, kind);
    if (plan === 'skip' || plan === null) return;
    const reply = baseReply(req, answer, this.o.serverAddress);
    reply.ciaddr = req.ciaddr;
    this.boot(
      req,
      reply,
      plan,
      m,
      kind,
      answer === DhcpMessageType.Offer ? 'offer' : via === 'proxy' ? 'proxy-ack' : 'ack',
    );
    if (via === 'proxy') this.reply(req, reply, from.address, from.port, 'proxy');
    else {
      // Relayed: to the relay agent, which passes it on to the client (RFC 2131 §4.1).
      const to = this.dest(req);
      this.reply(req, reply, to.address, to.port, 'dhcp');
    }
    this.o.logger.debug?.(`dhcp: proxy ${DhcpMessageTypeName[answer] ?? answer}`, { mac: m.mac });
  }
}
