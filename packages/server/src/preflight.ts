import { readFileSync } from 'node:fs';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { ServerError, ServerErrorCode } from './errors.js';

const CAP_NET_BIND_SERVICE = 10;
const CAP_NET_RAW = 13;

/** Root, or the two capabilities DHCP and low ports need; otherwise one clear error. */
export async function checkPrivileges(needed: { lowPorts: boolean; dhcp: boolean }): Promise<void> {
  if (!needed.lowPorts && !needed.dhcp) return;
  if (process.getuid?.() === 0) return;
  const status = await readFile('/proc/self/status', 'utf8').catch(() => '');
  const eff = BigInt('0x' + (/^CapEff:\s*([0-9a-f]+)/m.exec(status)?.[1] ?? '0'));
  const has = (bit: number) => (eff >> BigInt(bit)) & 1n;
  const missing = [
    needed.lowPorts || needed.dhcp ? (has(CAP_NET_BIND_SERVICE) ? null : 'CAP_NET_BIND_SERVICE') : null,
    needed.dhcp ? (has(CAP_NET_RAW) ? null : 'CAP_NET_RAW') : null,
  ].filter((x): x is string => x !== null);
  if (missing.length) {
    throw new ServerError(
      ServerErrorCode.Privileges,
      `not root and missing ${missing.join(' and ')} (DHCP and ports below 1024 need them)`,
      {
        hint: `run with sudo, or: sudo setcap cap_net_bind_service,cap_net_raw+ep "$(readlink -f "$(command -v node)")"`,
      },
    );
  }
}

/** The interface must exist and hold the server address (DHCP binds to it; the rest to the address). */
export function checkInterface(iface: string | null, address: string): void {
  const all = networkInterfaces();
  if (iface !== null) {
    const addrs = all[iface];
    const operstate = sysNet(iface, 'operstate');
    if (!addrs && operstate !== undefined) {
      // Node (libuv) lists only running interfaces: this one exists but is down or has no carrier.
      throw new ServerError(
        ServerErrorCode.Interface,
        `interface "${iface}" is ${operstate === 'down' ? 'down' : 'without link (no carrier)'}`,
        {
          hint: `connect it and bring it up: ip link set ${iface} up; then check it holds ${address} (ip addr show ${iface})`,
        },
      );
    }
    if (!addrs) {
      throw new ServerError(ServerErrorCode.Interface, `interface "${iface}" does not exist`, {
        hint: `set dhcp.interface in config.yaml to one of: ${Object.keys(all).join(', ')}`,
      });
    }
    if (!addrs.some((a) => a.family === 'IPv4' && a.address === address)) {
      const has = addrs.filter((a) => a.family === 'IPv4').map((a) => a.address);
      throw new ServerError(
        ServerErrorCode.Interface,
        `interface "${iface}" does not hold ${address} (it has ${has.join(', ') || 'no IPv4 address'})`,
        {
          hint: `add it (ip addr add ${address}/24 dev ${iface}) or set general.host_ip to the interface's address`,
        },
      );
    }
    return;
  }
  const holder = Object.entries(all).find(([, a]) => a?.some((x) => x.address === address));
  if (!holder)
    throw new ServerError(ServerErrorCode.Interface, `no interface holds ${address}`, {
      hint: 'set general.host_ip to an address of this machine',
    });
}

function sysNet(iface: string, file: string): string | undefined {
  if (!/^[\w.:-]{1,15}$/.test(iface)) return undefined;
  try {
    return readFileSync(`/sys/class/net/${iface}/${file}`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Best effort: which process holds a local port (from /proc/net and /proc/<pid>/fd). */
export async function whoUses(port: number, proto: 'tcp' | 'udp'): Promise<string | undefined> {
  const inodes = new Set<string>();
  for (const f of [`/proc/net/${proto}`, `/proc/net/${proto}6`]) {
    const text = await readFile(f, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      const local = cols[1];
      if (local && parseInt(local.split(':')[1] ?? '', 16) === port) inodes.add(cols[9] ?? '');
    }
  }
  if (!inodes.size) return undefined;
  for (const pid of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid)) continue;
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const link = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (m && inodes.has(m[1]!)) {
        // argv[0], not comm: Node names its main thread "MainThread".
        const argv0 = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '?')).split('\0')[0] ?? '?';
        return `${argv0.split('/').pop() || '?'} (pid ${pid})`;
      }
    }
  }
  return undefined;
}
