// A routed room: the server's segment (bridge br0), a router namespace running ISC dhcrelay, and a
// client namespace on the far segment. Every packet stays inside namespaces made here.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createLab, randomMac, requireTool, type Lab } from './netns.js';
import type { NetnsHost } from '@boottorrent/testing/lab';

/** Debian's isc-dhcp-relay, unpacked (never installed) by tools/setup.sh. */
const DHCRELAY = fileURLToPath(
  new URL('../../../../../.cache/deb/isc-dhcp-relay/usr/sbin/dhcrelay', import.meta.url),
);

export interface RelayRoom {
  lab: Lab;
  router: NetnsHost;
  client: NetnsHost;
  /** The server's address on the near segment, e.g. 10.77.21.1. */
  server: string;
  /** The relay's address on the far segment (the clients' giaddr and gateway), e.g. 10.78.21.1. */
  giaddr: string;
  /** Other DHCP servers the relay forwards to (a site's DHCP server beside a proxy). */
  moreServers: string[];
  dispose(): Promise<void>;
}

/**
 * Near segment 10.77.<n>.0/24 (server .1, router .254), far segment 10.78.<n>.0/24 (router .1,
 * one client without an address), forwarding on in the router, a route back on the server.
 */
export async function createRelayRoom(n: number, moreServers: string[] = []): Promise<RelayRoom> {
  const server = `10.77.${n}.1`;
  const giaddr = `10.78.${n}.1`;
  const lab = await createLab({ cidr: `${server}/24`, clients: 0 });
  try {
    const router = await lab.server.addHost({
      suffix: 'rt',
      iface: 'up0',
      port: 'rtport',
      addresses: [`10.77.${n}.254/24`],
    });
    const client = await router.addHost({
      suffix: 'c0',
      iface: 'cli0',
      port: 'far0',
      bridge: false,
      mac: randomMac(),
    });
    await router.ip('addr', 'add', `${giaddr}/24`, 'brd', '+', 'dev', 'far0');
    await router.run('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    await lab.server.ip('route', 'add', `10.78.${n}.0/24`, 'via', `10.77.${n}.254`);
    return { lab, router, client, server, giaddr, moreServers, dispose: () => lab.dispose() };
  } catch (e) {
    await lab.dispose();
    throw e;
  }
}

/** A running program with its output collected, stopped by its own PID. */
export interface Proc {
  proc: ChildProcess;
  output(): string;
  waitOutput(re: RegExp, timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

function watch(proc: ChildProcess): Proc {
  let out = '';
  const exited = once(proc, 'exit');
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return {
    proc,
    output: () => out,
    async waitOutput(re, timeoutMs) {
      const end = Date.now() + timeoutMs;
      while (!re.test(out)) {
        if (proc.exitCode !== null) throw new Error(`exited (${proc.exitCode}) before ${re}: ${out}`);
        if (Date.now() > end) throw new Error(`no ${re} in ${timeoutMs} ms: ${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGINT');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

/**
 * ISC dhcrelay in the router: listens on the far segment, forwards to `server` from the near one,
 * and with `-a` adds option 82 (circuit id = the far interface), which it checks and strips from
 * the answers.
 */
export async function startDhcrelay(room: RelayRoom, pidFile: string): Promise<Proc> {
  const bin = requireTool('dhcrelay', { paths: [DHCRELAY] });
  const servers = [room.server, ...room.moreServers];
  const p = watch(
    room.router.spawn(bin, ['-d', '-4', '-a', '-pf', pidFile, '-iu', 'up0', '-id', 'far0', ...servers], {
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  await p.waitOutput(/Listening on LPF\/far0/, 10_000);
  return p;
}

/** tcpdump on the server's bridge, writing DHCP traffic to `file` packet by packet. */
export async function startCapture(room: RelayRoom, file: string): Promise<Proc> {
  const bin = requireTool('tcpdump', { paths: ['/usr/bin/tcpdump', '/usr/sbin/tcpdump'] });
  const p = watch(
    room.lab.server.spawn(
      bin,
      ['-i', room.lab.bridge, '--immediate-mode', '-U', '-n', '-w', file, 'udp port 67'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    ),
  );
  await p.waitOutput(/listening on/, 10_000);
  return p;
}
