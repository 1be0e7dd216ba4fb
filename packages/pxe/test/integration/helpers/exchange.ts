// Sends crafted packets from a client namespace and collects the replies by transaction id.
import type { DhcpPacket } from '../../../src/packet.js';
import { Agent } from './agent.js';
import { b64, decode64 } from './packets.js';

export interface Reply {
  packet: DhcpPacket;
  from: string;
}

/** A raw UDP endpoint (port 68, bound to the client interface) in a client namespace. */
export class RawClient {
  private constructor(
    readonly agent: Agent,
    readonly name: string,
  ) {}

  static async open(agent: Agent, iface: string, port = 68): Promise<RawClient> {
    const name = `raw${port}`;
    await agent.call('udpOpen', { name, port, iface });
    return new RawClient(agent, name);
  }

  send(p: DhcpPacket, address: string, port = 67): Promise<unknown> {
    return this.agent.call('udpSend', { name: this.name, data: b64(p), address, port });
  }

  /** Replies received so far for `xid`. */
  replies(xid: number): Reply[] {
    const out: Reply[] = [];
    for (const e of this.agent.events) {
      if (e.event !== 'udp' || e.name !== this.name || !e.data) continue;
      try {
        const packet = decode64(e.data);
        if (packet.xid === xid && packet.op === 2) out.push({ packet, from: e.from ?? '' });
      } catch {
        // our own broadcasts or noise
      }
    }
    return out;
  }

  /** Waits for a reply to `xid`, or null after `ms`. */
  async reply(xid: number, ms = 3000): Promise<Reply | null> {
    try {
      await this.agent.waitFor(
        (e) => e.event === 'udp' && e.name === this.name && this.replies(xid).length > 0,
        ms,
      );
    } catch {
      return null;
    }
    return this.replies(xid)[0] ?? null;
  }
}
