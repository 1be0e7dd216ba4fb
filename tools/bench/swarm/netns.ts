// The virtual room: one bridge namespace, one server namespace and N client namespaces, each host joined
// to the bridge by a veth pair. Every link is shaped with tc tbf in both directions (the host end shapes
// its upload, the bridge end its download), so the network, not the CPU, is the bottleneck.
//
// Nothing here touches the root namespace: veth pairs are created inside the bridge namespace and one end
// is moved straight into the host namespace; there is no default route, so no packet can leave the room.
// Deleting a namespace removes its veths and qdiscs with it.
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Every namespace this benchmark creates starts with this prefix (then a random id). */
export const NS_PREFIX = 'btsw-';
/** Private subnet used inside the room; the server is .1, client i is .(10 + i). */
export const SUBNET = '10.213.0';

export interface Host {
  name: string;
  ns: string;
  ip: string;
  /** The host's own interface (inside `ns`). */
  dev: string;
}

/** What the phase-1 /init sets (PHASE1_TCP_NOTSENT_LOWAT of @boottorrent/initrd-builder). */
export const CLIENT_NOTSENT_LOWAT = 65536;
/** What the phase-1 /init sets (PHASE1_TCP_CONGESTION of @boottorrent/initrd-builder). */
export const CLIENT_TCP_CONGESTION = 'cubic';
/** A stock Debian kernel's default (CONFIG_DEFAULT_TCP_CONG), what `boottorrent start` runs on by default. */
export const SERVER_TCP_CONGESTION = 'cubic';

const ALLOWED_CC = '/proc/sys/net/ipv4/tcp_allowed_congestion_control';
const AVAILABLE_CC = '/proc/sys/net/ipv4/tcp_available_congestion_control';

export interface LabOptions {
  clients: number;
  /** Client upload and download rate, Mbit/s (1 Mbit = 10^6 bit). */
  clientMbit: number;
  /** Server upload and download rate, Mbit/s. */
  serverMbit: number;
  /** net.ipv4.tcp_notsent_lowat in every client namespace; 0 = the kernel default. @default CLIENT_NOTSENT_LOWAT */
  clientNotsentLowat?: number;
  /**
   * net.ipv4.tcp_congestion_control in every client namespace; '' = the host's default (a new namespace
   * inherits it). A namespace may only pick an algorithm the host allows
   * (net.ipv4.tcp_allowed_congestion_control): if it is not allowed, it is added for the lab's lifetime
   * and the host's list is restored by destroy(). @default CLIENT_TCP_CONGESTION
   */
  clientCongestion?: string;
  /** The same for the server's namespace. @default SERVER_TCP_CONGESTION */
  serverCongestion?: string;
  /** Called with each command, for --verbose. */
  log?: (line: string) => void;
}

export interface Lab {
  id: string;
  bridgeNs: string;
  server: Host;
  clients: Host[];
  namespaces(): string[];
  /** Bytes sent by a host's interface so far (wire bytes, headers included). */
  txBytes(host: Host): Promise<number>;
  destroy(): Promise<void>;
  /** Synchronous best-effort cleanup for process 'exit' handlers. */
  destroySync(): void;
}

/** tbf needs a bucket of at least one MTU plus a bit per timer tick; 1/50 s of traffic, at least 16 KiB. */
function burstBytes(mbit: number): number {
  return Math.max(16 * 1024, Math.ceil((mbit * 1e6) / 8 / 50));
}

function tbf(ns: string, dev: string, mbit: number): string[] {
  return [
    '-n',
    ns,
    'qdisc',
    'replace',
    'dev',
    dev,
    'root',
    'tbf',
    'rate',
    `${mbit}mbit`,
    'burst',
    String(burstBytes(mbit)),
    'latency',
    '50ms',
  ];
}

export async function createLab(opts: LabOptions): Promise<Lab> {
  if (opts.clients < 1 || opts.clients > 200) throw new Error(`clients: ${opts.clients} is outside 1..200`);
  const id = randomBytes(3).toString('hex');
  const created: string[] = [];
  const ip = async (...args: string[]) => {
    opts.log?.(`ip ${args.join(' ')}`);
    await run('ip', args);
  };
  const tc = async (...args: string[]) => {
    opts.log?.(`tc ${args.join(' ')}`);
    await run('tc', args);
  };
  const addNs = async (ns: string) => {
    await ip('netns', 'add', ns);
    created.push(ns);
    await ip('-n', ns, 'link', 'set', 'lo', 'up');
  };

  // The host's allowed list, if we extend it; restored on destroy.
  let allowedBefore: string | undefined;
  const restoreAllowed = () => {
    if (allowedBefore === undefined) return;
    try {
      writeFileSync(ALLOWED_CC, allowedBefore);
      allowedBefore = undefined;
    } catch {
      // restored by the next attempt (destroy, then the exit handler's destroySync)
    }
  };
  const bridgeNs = `${NS_PREFIX}${id}-br`;
  const server: Host = { name: 'srv', ns: `${NS_PREFIX}${id}-srv`, ip: `${SUBNET}.1`, dev: 'eth0' };
  const clients: Host[] = Array.from({ length: opts.clients }, (_, i) => {
    const name = `c${String(i + 1).padStart(2, '0')}`;
    return { name, ns: `${NS_PREFIX}${id}-${name}`, ip: `${SUBNET}.${10 + i + 1}`, dev: 'eth0' };
  });

  const ccOf = (host: Host) =>
    host === server
      ? (opts.serverCongestion ?? SERVER_TCP_CONGESTION)
      : (opts.clientCongestion ?? CLIENT_TCP_CONGESTION);
  const wanted = [...new Set([ccOf(server), ccOf(clients[0] ?? server)])].filter((c) => c !== '');
  if (wanted.length > 0) {
    const available = readFileSync(AVAILABLE_CC, 'utf8').trim().split(/\s+/);
    for (const cc of wanted)
      if (!available.includes(cc))
        throw new Error(
          `congestion control ${cc}: not in ${AVAILABLE_CC} (${available.join(' ')}); load its module (modprobe tcp_${cc})`,
        );
    const allowed = readFileSync(ALLOWED_CC, 'utf8').trim();
    const missing = wanted.filter((cc) => !allowed.split(/\s+/).includes(cc));
    if (missing.length > 0) {
      opts.log?.(`${ALLOWED_CC}: adding ${missing.join(' ')} for the lab (was: ${allowed})`);
      allowedBefore = allowed;
      writeFileSync(ALLOWED_CC, [allowed, ...missing].join(' '));
    }
  }

  const lab: Lab = {
    id,
    bridgeNs,
    server,
    clients,
    namespaces: () => [...created],
    async txBytes(host) {
      const { stdout } = await run('ip', ['-n', host.ns, '-s', '-j', 'link', 'show', 'dev', host.dev]);
      const [link] = JSON.parse(stdout) as { stats64: { tx: { bytes: number } } }[];
      if (!link) throw new Error(`no link ${host.dev} in ${host.ns}`);
      return link.stats64.tx.bytes;
    },
    async destroy() {
      for (const ns of created.splice(0).reverse()) {
        await run('ip', ['netns', 'del', ns]).catch(() => undefined);
      }
      restoreAllowed();
    },
    destroySync() {
      for (const ns of created.splice(0).reverse()) {
        try {
          execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
        } catch {
          // already gone
        }
      }
      restoreAllowed();
    },
  };

  try {
    await addNs(bridgeNs);
    await ip('-n', bridgeNs, 'link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0');
    await ip('-n', bridgeNs, 'link', 'set', 'br0', 'up');
    for (const host of [server, ...clients]) {
      const mbit = host === server ? opts.serverMbit : opts.clientMbit;
      const port = `v-${host.name}`;
      await addNs(host.ns);
      await ip(
        '-n',
        bridgeNs,
        'link',
        'add',
        port,
        'type',
        'veth',
        'peer',
        'name',
        host.dev,
        'netns',
        host.ns,
      );
      await ip('-n', bridgeNs, 'link', 'set', port, 'master', 'br0');
      await ip('-n', bridgeNs, 'link', 'set', port, 'up');
      await ip('-n', host.ns, 'addr', 'add', `${host.ip}/24`, 'dev', host.dev);
      await ip('-n', host.ns, 'link', 'set', host.dev, 'up');
      // A client runs our phase-1, whose /init bounds the kernel's unsent bytes per TCP socket
      // (PHASE1_TCP_NOTSENT_LOWAT in @boottorrent/initrd-builder); the server is the admin's host,
      // left at the kernel's default. Every method's clients get the same network.
      if (host !== server && opts.clientNotsentLowat !== 0) {
        const lowat = opts.clientNotsentLowat ?? CLIENT_NOTSENT_LOWAT;
        await run('ip', ['netns', 'exec', host.ns, 'sysctl', '-qw', `net.ipv4.tcp_notsent_lowat=${lowat}`]);
      }
      if (ccOf(host) !== '') {
        const key = 'net.ipv4.tcp_congestion_control';
        await run('ip', ['netns', 'exec', host.ns, 'sysctl', '-qw', `${key}=${ccOf(host)}`]);
        const { stdout } = await run('ip', ['netns', 'exec', host.ns, 'sysctl', '-n', key]);
        if (stdout.trim() !== ccOf(host))
          throw new Error(`${host.ns}: ${key} is ${stdout.trim()}, not ${ccOf(host)}`);
      }
      await tc(...tbf(host.ns, host.dev, mbit)); // the host's upload
      await tc(...tbf(bridgeNs, port, mbit)); // the host's download
    }
  } catch (err) {
    await lab.destroy();
    throw err;
  }
  return lab;
}

/** Namespaces left by an earlier run that was killed with SIGKILL (for --cleanup). */
export async function staleNamespaces(): Promise<string[]> {
  const { stdout } = await run('ip', ['netns', 'list']);
  return stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(NS_PREFIX));
}
