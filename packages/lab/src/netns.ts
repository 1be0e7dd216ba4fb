// Network namespaces: a private LAN (bridge, taps for VMs, veth hosts) that nothing in the root
// namespace sees. Everything is created inside the namespaces, so deleting them removes it all.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { abortedError, LabError, LabErrorCode, type Logger } from './errors.js';
import { findTool, runCommand, type RunOptions } from './exec.js';
import { checkCidr, checkIfName, checkMac, randomMac, uniqueName } from './names.js';

/** Start of every namespace name unless `prefix` says otherwise. */
export const DEFAULT_NETNS_PREFIX = 'bt';
/** Name of the bridge inside the namespace. */
export const DEFAULT_BRIDGE = 'br0';
/** Name of a host's interface inside its own namespace. */
export const DEFAULT_HOST_IFACE = 'eth0';

/** The namespace's LAN: one bridge that taps and hosts are plugged into. */
export interface BridgeOptions {
  /** @default DEFAULT_BRIDGE */
  name?: string;
  /**
   * Addresses with prefix length (`10.77.0.1/24`, `fd77::1/64`). IPv4 gets the subnet broadcast
   * (`brd +`); IPv6 skips duplicate address detection (`nodad`) so it is usable at once. An IPv6
   * prefix here plus router advertisements saves iPXE a ~16 s wait (lab-facts §7.1).
   */
  addresses?: readonly string[];
  /**
   * Plug an always-up veth pair (`<bridge>-up` / `<bridge>-peer`) into the bridge. A bridge without
   * a running port has no carrier, and Node's `networkInterfaces()` (libuv) skips such an interface;
   * taps only get a carrier once QEMU opens them. This kernel has no `dummy` module (lab-facts §9).
   * @default false
   */
  carrier?: boolean;
}

/** Options of {@link createNetns}. */
export interface NetnsOptions {
  /** Start of the name; a unique suffix is added (PID, sequence, random). @default DEFAULT_NETNS_PREFIX */
  prefix?: string;
  /** A bridge inside the namespace; without it there is only loopback. */
  bridge?: BridgeOptions;
  /** Taps on the bridge for QEMU: a count (`tap0`…) or names. @default 0 */
  taps?: number | readonly string[];
  /** Multicast on loopback and a 224.0.0.0/4 route to it (BEP 14 local service discovery). @default false */
  loopbackMulticast?: boolean;
  /** Receives each command at debug level. */
  logger?: Logger;
  /** Aborting it during setup removes what was made and rejects with LAB_ABORTED. */
  signal?: AbortSignal;
}

/** Options of {@link Netns.addHost}. */
export interface HostOptions {
  /** The host's namespace is `<parent>-<suffix>`. @default `h<n>` */
  suffix?: string;
  /** Its interface, inside its namespace. @default DEFAULT_HOST_IFACE */
  iface?: string;
  /** The veth end left in the parent namespace. @default `port<n>` */
  port?: string;
  /** MAC of `iface`. @default a random 52:54:00:xx:xx:xx */
  mac?: string;
  /** Addresses of `iface` (none: a client before its first DHCP lease). */
  addresses?: readonly string[];
  /** Plug `port` into the parent's bridge; false leaves it a plain interface. @default true with a bridge */
  bridge?: boolean;
  /** As in {@link NetnsOptions}. @default false */
  loopbackMulticast?: boolean;
}

/** A network namespace; `close()` deletes it and every host added to it, idempotently. */
export interface Netns extends AsyncDisposable {
  readonly name: string;
  /** The bridge's name, if it has one. */
  readonly bridge: string | undefined;
  /** Taps on the bridge, in creation order. */
  readonly taps: readonly string[];
  /** Runs `ip -n <name> …` and resolves with its stdout. */
  ip(...args: string[]): Promise<string>;
  /** The argv that runs `cmd` inside: `['ip', ['netns', 'exec', name, cmd, ...args]]`. */
  command(cmd: string, args: readonly string[]): [string, string[]];
  /** Runs `cmd` inside to completion; resolves with its stdout (LAB_COMMAND on a non-zero exit). */
  run(cmd: string, args: readonly string[], opts?: RunOptions): Promise<string>;
  /** Starts `cmd` inside; its PID is the command's own (`ip netns exec` execs it). */
  spawn(cmd: string, args: readonly string[], opts?: SpawnOptions): ChildProcess;
  /** Adds a tap on the bridge, up, for a VM's `-netdev tap`. @default name `tap<n>` */
  addTap(name?: string): Promise<string>;
  /** Adds a second host: its own namespace joined by a veth pair (on the bridge unless told not to). */
  addHost(opts?: HostOptions): Promise<NetnsHost>;
  close(): Promise<void>;
}

/** A host made by {@link Netns.addHost}. */
export interface NetnsHost extends Netns {
  readonly iface: string;
  readonly port: string;
  readonly mac: string;
}

/**
 * Creates a network namespace with loopback up and, when asked, a bridge with addresses and taps.
 * A failure half-way removes what was made. Needs root.
 */
export async function createNetns(opts: NetnsOptions = {}): Promise<Netns> {
  const bridge = opts.bridge ? (opts.bridge.name ?? DEFAULT_BRIDGE) : undefined;
  const taps =
    typeof opts.taps === 'number'
      ? Array.from({ length: opts.taps }, (_, i) => `tap${i}`)
      : [...(opts.taps ?? [])];
  if (bridge !== undefined) {
    checkIfName(bridge, 'bridge');
    if (opts.bridge?.carrier) checkIfName(`${bridge}-peer`, 'bridge (with carrier: "<bridge>-peer")');
    for (const a of opts.bridge?.addresses ?? []) checkCidr(a, 'bridge address');
  }
  for (const t of taps) checkIfName(t, 'tap');
  if (taps.length > 0 && bridge === undefined)
    throw new LabError(LabErrorCode.BadOption, `${taps.length} taps asked for without a bridge`, {
      hint: 'pass bridge: {} (taps are plugged into the bridge)',
    });
  const ns = new NetnsHandle(
    uniqueName(opts.prefix ?? DEFAULT_NETNS_PREFIX),
    findTool('ip', { debianPackage: 'iproute2' }),
    bridge,
    opts,
  );
  await ns.setUp(async () => {
    if (opts.loopbackMulticast) await ns.loopbackMulticast();
    if (bridge === undefined) return;
    await ns.ip('link', 'add', bridge, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0');
    await ns.addAddresses(bridge, opts.bridge?.addresses ?? []);
    await ns.ip('link', 'set', bridge, 'up');
    if (opts.bridge?.carrier) {
      await ns.ip('link', 'add', `${bridge}-up`, 'type', 'veth', 'peer', 'name', `${bridge}-peer`);
      await ns.ip('link', 'set', `${bridge}-up`, 'master', bridge);
      await ns.ip('link', 'set', `${bridge}-up`, 'up');
      await ns.ip('link', 'set', `${bridge}-peer`, 'up');
    }
    for (const t of taps) await ns.addTap(t);
  });
  return ns;
}

class NetnsHandle implements Netns {
  readonly taps: string[] = [];
  private readonly hosts: NetnsHandle[] = [];
  private closing: Promise<void> | undefined;

  constructor(
    readonly name: string,
    private readonly ipPath: string,
    readonly bridge: string | undefined,
    private readonly opts: { logger?: Logger; signal?: AbortSignal },
  ) {}

  /** Adds the namespace, runs `steps`; on any failure deletes it again and rethrows. */
  async setUp(steps: () => Promise<void>): Promise<void> {
    if (this.opts.signal?.aborted) throw abortedError(`creating namespace ${this.name}`, this.opts.signal);
    // Not interruptible: killed half-way, `ip netns add` may leave a namespace nobody would delete.
    await runCommand(this.ipPath, ['netns', 'add', this.name], { logger: this.opts.logger });
    try {
      await this.ip('link', 'set', 'lo', 'up');
      await steps();
    } catch (e) {
      await this.close().catch(() => undefined);
      throw e;
    }
  }

  ip(...args: string[]): Promise<string> {
    return this.sh('-n', this.name, ...args);
  }

  command(cmd: string, args: readonly string[]): [string, string[]] {
    return [this.ipPath, ['netns', 'exec', this.name, cmd, ...args]];
  }

  run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<string> {
    return runCommand(...this.command(cmd, args), { logger: this.opts.logger, ...opts });
  }

  spawn(cmd: string, args: readonly string[], opts: SpawnOptions = {}): ChildProcess {
    this.opts.logger?.debug?.(`ip netns exec ${this.name} ${cmd} ${args.join(' ')}`);
    return spawn(...this.command(cmd, args), opts);
  }

  async addTap(name = `tap${this.taps.length}`): Promise<string> {
    checkIfName(name, 'tap');
    if (this.bridge === undefined)
      throw new LabError(LabErrorCode.BadOption, `namespace ${this.name} has no bridge for tap ${name}`, {
        hint: 'create it with bridge: {}',
      });
    await this.ip('tuntap', 'add', 'dev', name, 'mode', 'tap');
    this.taps.push(name);
    await this.ip('link', 'set', name, 'master', this.bridge);
    await this.ip('link', 'set', name, 'up');
    return name;
  }

  async addHost(o: HostOptions = {}): Promise<NetnsHost> {
    const n = this.hosts.length;
    const suffix = o.suffix ?? `h${n}`;
    const iface = o.iface ?? DEFAULT_HOST_IFACE;
    const port = o.port ?? `port${n}`;
    const mac = o.mac ?? randomMac();
    const onBridge = o.bridge ?? this.bridge !== undefined;
    checkIfName(iface, 'host interface');
    checkIfName(port, 'host port');
    checkMac(mac, 'host MAC');
    for (const a of o.addresses ?? []) checkCidr(a, 'host address');
    if (!/^[A-Za-z0-9_.-]{1,20}$/.test(suffix))
      throw new LabError(LabErrorCode.BadOption, `host suffix "${suffix}" is not a plain name`, {
        hint: 'use 1-20 letters, digits, "_", "." or "-"',
      });
    if (onBridge && this.bridge === undefined)
      throw new LabError(LabErrorCode.BadOption, `namespace ${this.name} has no bridge for host ${suffix}`, {
        hint: 'create it with bridge: {}, or pass bridge: false',
      });
    const host = Object.assign(new NetnsHandle(`${this.name}-${suffix}`, this.ipPath, undefined, this.opts), {
      iface,
      port,
      mac,
    });
    this.hosts.push(host);
    await host.setUp(async () => {
      if (o.loopbackMulticast) await host.loopbackMulticast();
      await this.ip('link', 'add', port, 'type', 'veth', 'peer', 'name', iface, 'netns', host.name);
      await host.ip('link', 'set', iface, 'address', mac);
      if (onBridge) await this.ip('link', 'set', port, 'master', this.bridge!);
      await this.ip('link', 'set', port, 'up');
      await host.addAddresses(iface, o.addresses ?? []);
      await host.ip('link', 'set', iface, 'up');
    });
    return host;
  }

  async loopbackMulticast(): Promise<void> {
    await this.ip('link', 'set', 'lo', 'multicast', 'on');
    await this.ip('route', 'add', '224.0.0.0/4', 'dev', 'lo');
  }

  async addAddresses(dev: string, addresses: readonly string[]): Promise<void> {
    for (const a of addresses) {
      if (checkCidr(a, 'address') === 4) await this.ip('addr', 'add', a, 'brd', '+', 'dev', dev);
      else await this.ip('addr', 'add', a, 'dev', dev, 'nodad');
    }
  }

  close(): Promise<void> {
    return (this.closing ??= this.destroy());
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  private async destroy(): Promise<void> {
    const results = await Promise.allSettled(this.hosts.map((h) => h.close()));
    try {
      await runCommand(this.ipPath, ['netns', 'del', this.name], { logger: this.opts.logger });
    } catch (e) {
      // Already gone (never made, or deleted by someone else) is what close() wants.
      if (existsSync(`/run/netns/${this.name}`)) throw e;
    }
    for (const r of results) if (r.status === 'rejected') throw r.reason;
  }

  private sh(...args: string[]): Promise<string> {
    return runCommand(this.ipPath, args, { logger: this.opts.logger, signal: this.opts.signal });
  }
}
