import { randomBytes } from 'node:crypto';
import { run } from './exec.js';

/** A private network for the lab: a namespace holding a bridge (the boot LAN) and one tap per VM. */
export interface LabNetwork {
  ns: string;
  bridge: string;
  taps: string[];
  /** `ip netns exec <ns>` prefix for commands that must run inside. */
  exec: (cmd: string, args: string[]) => [string, string[]];
  destroy(): Promise<void>;
}

/** IPv6 prefix on the bridge: iPXE waits ~16 s for a router advertisement without one (lab-facts). */
export const LAB_IPV6 = 'fd77::1/64';

export async function createLabNetwork(opts: {
  address: string;
  prefix: number;
  vms: number;
}): Promise<LabNetwork> {
  const ns = `bt-lab-${randomBytes(3).toString('hex')}`;
  const bridge = 'br0';
  const taps = Array.from({ length: opts.vms }, (_, i) => `tap${i}`);
  const ip = (...args: string[]) => run('ip', args);
  await ip('netns', 'add', ns);
  const destroy = async () => {
    await ip('netns', 'del', ns).catch(() => {});
  };
  try {
    await ip('-n', ns, 'link', 'set', 'lo', 'up');
    await ip('-n', ns, 'link', 'add', bridge, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0');
    await ip('-n', ns, 'addr', 'add', `${opts.address}/${opts.prefix}`, 'brd', '+', 'dev', bridge);
    await ip('-n', ns, 'addr', 'add', LAB_IPV6, 'dev', bridge, 'nodad');
    await ip('-n', ns, 'link', 'set', bridge, 'up');
    // A bridge without a running port has no carrier, and an interface without carrier is invisible
    // to Node's networkInterfaces() (libuv skips it): give the bridge one always-up port before the
    // taps, whose carrier only comes when QEMU opens them.
    await ip('-n', ns, 'link', 'add', 'br0-up', 'type', 'veth', 'peer', 'name', 'br0-peer');
    await ip('-n', ns, 'link', 'set', 'br0-up', 'master', bridge);
    await ip('-n', ns, 'link', 'set', 'br0-up', 'up');
    await ip('-n', ns, 'link', 'set', 'br0-peer', 'up');
    for (const tap of taps) {
      await ip('-n', ns, 'tuntap', 'add', 'dev', tap, 'mode', 'tap');
      await ip('-n', ns, 'link', 'set', tap, 'master', bridge);
      await ip('-n', ns, 'link', 'set', tap, 'up');
    }
  } catch (e) {
    await destroy();
    throw e;
  }
  return {
    ns,
    bridge,
    taps,
    exec: (cmd, args) => ['ip', ['netns', 'exec', ns, cmd, ...args]],
    destroy,
  };
}

/**
 * A second host on the lab's LAN (its own namespace, a veth into the bridge): where the lab runs the
 * "site" DHCP server (dnsmasq) in proxy mode, as on a network that already has one.
 */
export async function addSiteHost(net: LabNetwork, address: string, prefix: number) {
  const ns = `${net.ns}-site`;
  const ip = (...args: string[]) => run('ip', args);
  await ip('netns', 'add', ns);
  const destroy = async () => {
    await ip('netns', 'del', ns).catch(() => {});
  };
  try {
    await ip('-n', net.ns, 'link', 'add', 'site0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
    await ip('-n', net.ns, 'link', 'set', 'site0', 'master', net.bridge);
    await ip('-n', net.ns, 'link', 'set', 'site0', 'up');
    await ip('-n', ns, 'link', 'set', 'lo', 'up');
    await ip('-n', ns, 'addr', 'add', `${address}/${prefix}`, 'brd', '+', 'dev', 'eth0');
    await ip('-n', ns, 'link', 'set', 'eth0', 'up');
  } catch (e) {
    await destroy();
    throw e;
  }
  return {
    ns,
    iface: 'eth0',
    exec: (cmd: string, args: string[]): [string, string[]] => ['ip', ['netns', 'exec', ns, cmd, ...args]],
    destroy,
  };
}
