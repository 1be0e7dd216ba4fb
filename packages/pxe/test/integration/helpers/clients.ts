// Real DHCP clients (busybox udhcpc, ISC dhclient) run inside the client namespace.
import type { ChildProcess } from 'node:child_process';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { requireTool, type Netns } from './netns.js';

/** A client process whose hook script appends one line per event to `log`. */
export interface DhcpClient {
  proc: ChildProcess;
  log: string;
  /** Lines of the hook log, e.g. `bound ip=10.77.0.100 ...`. */
  lines(): Promise<string[]>;
  waitLine(pred: (l: string) => boolean, timeoutMs: number, from?: number): Promise<string>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

function client(proc: ChildProcess, log: string): DhcpClient {
  let output = '';
  proc.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const lines = async (): Promise<string[]> =>
    (await readFile(log, 'utf8').catch(() => '')).split('\n').filter((l) => l !== '');
  return {
    proc,
    log,
    lines,
    async waitLine(pred, timeoutMs, from = 0) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const hit = (await lines()).slice(from).find(pred);
        if (hit) return hit;
        if (Date.now() > end)
          throw new Error(
            `client: no matching hook line in ${timeoutMs} ms; log: ${(await lines()).join(' | ')}; output: ${output}`,
          );
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

/**
 * busybox udhcpc in the foreground: SIGUSR1 renews, SIGUSR2 releases, `-R` releases on exit.
 * The hook configures the address so unicast renewals reach it.
 */
export async function startUdhcpc(
  ns: Netns,
  iface: string,
  dir: string,
  extra: string[] = [],
): Promise<DhcpClient> {
  const busybox = requireTool('busybox', { paths: ['/usr/bin/busybox', '/bin/busybox'] });
  const log = join(dir, `udhcpc-${ns.name}.log`);
  const script = join(dir, `udhcpc-${ns.name}.sh`);
  await writeFile(
    script,
    `#!/bin/sh
echo "$1 ip=$ip siaddr=$siaddr boot_file=$boot_file serverid=$serverid lease=$lease subnet=$subnet" >> ${log}
case "$1" in
  bound|renew) ${busybox} ip addr flush dev $interface; ${busybox} ip addr add $ip/$subnet dev $interface ;;
  deconfig) ${busybox} ip addr flush dev $interface ;;
esac
exit 0
`,
  );
  await chmod(script, 0o755);
  const proc = ns.spawn(
    busybox,
    ['udhcpc', '-f', '-R', '-i', iface, '-s', script, '-t', '10', '-T', '1', '-A', '1', ...extra],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return client(proc, log);
}

/** ISC dhclient in the foreground with a private script and lease file (never /etc). */
export async function startDhclient(
  ns: Netns,
  iface: string,
  dir: string,
): Promise<DhcpClient & { release(): Promise<void> }> {
  const dhclient = requireTool('dhclient', { paths: ['/usr/sbin/dhclient', '/sbin/dhclient'] });
  const log = join(dir, `dhclient-${ns.name}.log`);
  const script = join(dir, `dhclient-${ns.name}.sh`);
  const leases = join(dir, `dhclient-${ns.name}.leases`);
  const pid = join(dir, `dhclient-${ns.name}.pid`);
  const conf = join(dir, `dhclient-${ns.name}.conf`);
  await writeFile(conf, 'request subnet-mask, broadcast-address, routers;\ntimeout 20;\nretry 1;\n');
  await writeFile(
    script,
    `#!/bin/sh
echo "$reason ip=$new_ip_address siaddr=$new_next_server boot_file=$new_filename serverid=$new_dhcp_server_identifier lease=$new_dhcp_lease_time old=$old_ip_address" >> ${log}
case "$reason" in
  BOUND|REBOOT) ip addr flush dev $interface; ip addr add $new_ip_address/$new_subnet_mask dev $interface ;;
  RELEASE|EXPIRE|STOP) ip addr flush dev $interface ;;
esac
exit 0
`,
  );
  await chmod(script, 0o755);
  const args = ['-d', '-v', '-cf', conf, '-lf', leases, '-pf', pid, '-sf', script, iface];
  const proc = ns.spawn(dhclient, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const c = client(proc, log);
  return {
    ...c,
    async release() {
      await c.stop();
      const r = ns.spawn(dhclient, ['-r', ...args.slice(1)], { stdio: 'ignore' });
      await new Promise((res) => r.once('exit', res));
    },
  };
}
