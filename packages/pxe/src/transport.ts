/**
 * The transport: UDP sockets bound to one network interface.
 *
 * Node cannot bind a UDP socket to a device, so after `bind()` we set
 * `SO_BINDTOIFINDEX` (Linux ≥ 5.0) through the `sockopt` addon: the kernel then delivers only
 * packets that arrived on that interface and routes our replies out of it. Broadcast replies go
 * to the interface's subnet broadcast, because 255.255.255.255 fails with ENETUNREACH where there
 * is no default route (lab-facts §7.6).
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { networkInterfaces } from 'node:os';
import { PxeError, PxeErrorCode } from './errors.js';
import { numberToIp, subnetOf } from './ip.js';

/** `SOL_SOCKET` and `SO_BINDTOIFINDEX` from <asm-generic/socket.h> (Linux 5.0+). */
export const SocketOption = { SOL_SOCKET: 1, SO_BINDTOIFINDEX: 62 } as const;

/** sockopt reads only `socket._handle.fd`; we hand it that shape (see {@link fdOf}). */
interface FdHolder {
  _handle: { fd: number };
}

interface Sockopt {
  setsockopt(socket: FdHolder, level: number, name: number, value: number): void;
}

/**
 * The file descriptor of a bound dgram socket. `socket._handle` prints a DEP0112 deprecation
 * warning (a library must not print), so read the handle from dgram's internal state symbol and
 * fall back to `_handle` only where that is missing.
 */
export function fdOf(sock: Socket): number {
  const sym = Object.getOwnPropertySymbols(sock).find((s) => s.description === 'state symbol');
  const state = sym
    ? (sock as unknown as Record<symbol, { handle?: { fd?: number } } | undefined>)[sym]
    : undefined;
  const fd = state?.handle?.fd ?? (sock as unknown as FdHolder)._handle.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error('socket has no file descriptor');
  return fd;
}

let sockopt: Sockopt | null = null;
function loadSockopt(): Sockopt {
  sockopt ??= createRequire(import.meta.url)('sockopt') as Sockopt;
  return sockopt;
}

/** The interface facts the server needs. */
export interface InterfaceInfo {
  name: string;
  index: number;
  address: string;
  netmask: string;
  broadcast: string;
}

/**
 * Looks up `name` and checks it holds `address`. Throws `PXE_INTERFACE_NOT_FOUND` or
 * `PXE_ADDRESS_NOT_ON_INTERFACE` with a hint.
 */
export function lookupInterface(name: string, address: string): InterfaceInfo {
  const all = networkInterfaces();
  const addrs = all[name];
  let index: number;
  try {
    index = Number(readFileSync(`/sys/class/net/${name}/ifindex`, 'utf8').trim());
  } catch {
    index = NaN;
  }
  if (!/^[\w.:-]{1,15}$/.test(name) || !Number.isInteger(index)) {
    const known = Object.keys(all).join(', ') || 'none';
    throw new PxeError(
      PxeErrorCode.InterfaceNotFound,
      `network interface "${name}" does not exist (interfaces here: ${known})`,
      { hint: 'set the interface to one of those' },
    );
  }
  const v4 = (addrs ?? []).filter((a) => a.family === 'IPv4');
  const mine = v4.find((a) => a.address === address);
  if (!mine) {
    const has = v4.map((a) => a.cidr).join(', ') || 'no IPv4 address';
    throw new PxeError(
      PxeErrorCode.AddressNotOnInterface,
      `interface ${name} does not hold ${address} (it has ${has})`,
      { hint: `add it with: ip addr add ${address}/24 brd + dev ${name}` },
    );
  }
  const s = subnetOf(mine.address, mine.netmask);
  return { name, index, address, netmask: mine.netmask, broadcast: numberToIp(s.broadcast) };
}

/** Options of {@link openInterfaceSocket}. */
export interface InterfaceSocketOptions {
  iface: InterfaceInfo;
  port: number;
  onMessage: (msg: Buffer, from: RemoteInfo) => void;
  onError: (err: Error) => void;
}

/** How to fix a failed bind, from the errno. */
function bindHint(err: NodeJS.ErrnoException, port: number): string {
  if (err.code === 'EACCES') return 'ports below 1024 need root or CAP_NET_BIND_SERVICE';
  // sockopt is an optional dependency: its published Linux prebuilds are macOS binaries, so npm
  // compiles it, and an install without a compiler leaves it out instead of failing.
  if (err.code === 'MODULE_NOT_FOUND' || err.code === 'ERR_DLOPEN_FAILED')
    return 'the native module sockopt (SO_BINDTOIFINDEX) is not built: apt-get install build-essential python3, then npm rebuild sockopt';
  if (err.code === 'EADDRINUSE')
    return `another DHCP server holds UDP port ${port}: stop it (\`ss -ulpn\` names it) or use proxy mode beside it`;
  return '';
}

/**
 * Binds a UDP socket on 0.0.0.0:`port` (broadcasts need the wildcard address) restricted to one
 * interface with SO_BINDTOIFINDEX. Throws `PXE_BIND`.
 */
export async function openInterfaceSocket(o: InterfaceSocketOptions): Promise<Socket> {
  const sock = createSocket({ type: 'udp4', reuseAddr: false });
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind({ port: o.port, address: '0.0.0.0', exclusive: true }, () => {
        sock.off('error', reject);
        resolve();
      });
    });
    loadSockopt().setsockopt(
      { _handle: { fd: fdOf(sock) } },
      SocketOption.SOL_SOCKET,
      SocketOption.SO_BINDTOIFINDEX,
      o.iface.index,
    );
    sock.setBroadcast(true);
  } catch (e) {
    try {
      sock.close();
    } catch {
      // already closed by the failed bind
    }
    throw new PxeError(
      PxeErrorCode.Bind,
      `cannot bind UDP port ${o.port} on ${o.iface.name}: ${(e as Error).message}`,
      { cause: e, hint: bindHint(e as NodeJS.ErrnoException, o.port) },
    );
  }
  sock.on('message', o.onMessage);
  sock.on('error', o.onError);
  return sock;
}

/** Closes a socket, resolving when it is closed (idempotent). */
export function closeSocket(sock: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      sock.close(() => resolve());
    } catch {
      resolve();
    }
  });
}
