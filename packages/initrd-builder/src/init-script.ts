import { RUNTIME_PATHS } from './runtime-script.js';

/** Where /init and the udhcpc script leave facts for the agent (inside the initramfs). */
export const PHASE1_PATHS = {
  /** Lease facts, one `key=value` a line: interface, mac, ip, mask, router, serverid, siaddr, server. */
  lease: '/run/boottorrent/lease',
  /** The agent bundle. */
  agent: '/agent.mjs',
  node: '/usr/bin/node',
  /** insmod order, one path under /lib/modules a line (in the modules archive, not in base). */
  modules: '/etc/boottorrent/modules',
  udhcpcScript: '/etc/boottorrent/udhcpc.script',
} as const;

/**
 * The udhcpc event script (busybox udhcpc exports ip, mask, subnet, router, dns, serverid, siaddr,
 * boot_file). It configures the link and writes the lease facts the agent reads.
 */
export const UDHCPC_SCRIPT = `#!/bin/sh
case "$1" in
deconfig)
  ip addr flush dev "$interface" 2>/dev/null
  ip link set "$interface" up
  ;;
bound|renew)
  ip addr flush dev "$interface" 2>/dev/null
  ip addr add "$ip/\${mask:-24}" dev "$interface"
  for r in $router; do ip route add default via "$r" dev "$interface" 2>/dev/null; break; done
  : > /etc/resolv.conf
  for d in $dns; do echo "nameserver $d" >> /etc/resolv.conf; done
  mkdir -p /run/boottorrent
  {
    echo "interface=$interface"
    echo "mac=$(cat /sys/class/net/$interface/address)"
    echo "ip=$ip"
    echo "mask=\${mask:-24}"
    echo "router=$(echo $router | cut -d' ' -f1)"
    echo "serverid=$serverid"
    echo "siaddr=$siaddr"
    echo "boot_file=$boot_file"
  } > ${PHASE1_PATHS.lease}
  ;;
esac
exit 0
`;

/**
 * Unsent bytes the phase-1 kernel keeps per TCP socket (`net.ipv4.tcp_notsent_lowat`). Linux's default
 * is unbounded (up to the autotuned send buffer, ~0.5 MB per peer connection in the swarm benchmark), so
 * a HAVE or REQUEST the agent writes waits behind that much piece data. With the bound, the seeder's
 * upload queue holds the rest and protocol messages overtake it (see @boottorrent/seeder).
 */
export const PHASE1_TCP_NOTSENT_LOWAT = 65536;

/**
 * TCP congestion control of the phase-1 kernel (`net.ipv4.tcp_congestion_control`). CUBIC is Debian's
 * default and built in; /init pins it so that a kernel built or tuned for BBR does not change the swarm.
 * In the swarm benchmark (16 machines behind 20 Mbit/s links) clients with BBR (v1) retransmitted 18–25 %
 * of their segments, with CUBIC 1.5–2 %, and the last machine finished 1.5–2 s later (docs/performance.md,
 * "## swarm"): BBR's bandwidth probing does not back off on loss, and 15 peers probe one shallow queue.
 */
export const PHASE1_TCP_CONGESTION = 'cubic';

/** Options of {@link initScript}. */
export interface InitScriptOptions {
  /** DHCP rounds over all links before giving up (each try waits about 3 s per link). @default 20 */
  dhcpRounds?: number;
}

/**
 * The phase-1 /init (busybox sh). It must never exit — PID 1 exiting panics the kernel — so the agent
 * runs as a child; when it exits, a shell takes over, and leaving the shell restarts the agent.
 * Kernel cmdline: `bt.server=<addr>` overrides the DHCP server address; `bt.runtime=<url>` is where
 * the runtime (Node + agent) comes from when the boot loader did not load it (runtime-script.ts).
 */
export function initScript(opts: InitScriptOptions = {}): string {
  const rounds = opts.dhcpRounds ?? 20;
  return `#!/bin/sh
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=linux
/bin/busybox --install -s
mkdir -p /proc /sys /dev /run /tmp /root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
mount -t tmpfs -o size=95%,mode=755 tmpfs /run
mkdir -p /run/boottorrent
echo "boottorrent phase-1: $(uname -r), $(grep MemTotal /proc/meminfo | tr -s ' ')"
dmesg -n 1
echo ${PHASE1_TCP_NOTSENT_LOWAT} > /proc/sys/net/ipv4/tcp_notsent_lowat
echo ${PHASE1_TCP_CONGESTION} > /proc/sys/net/ipv4/tcp_congestion_control
# The NIC modules: whichever modules archive the boot loader loaded (all drivers, or one NIC's).
nics=""
if [ -f ${PHASE1_PATHS.modules} ]; then
  while read -r m; do
    insmod "/lib/modules/$m" 2>/dev/null || continue
    m=\${m##*/}
    nics="$nics \${m%.ko}"
  done < ${PHASE1_PATHS.modules}
fi
echo "boottorrent phase-1: modules:\${nics:- none}"

server=""
for arg in $(cat /proc/cmdline); do
  case "$arg" in bt.server=*) server="\${arg#bt.server=}" ;; esac
done

got=""
round=0
while [ -z "$got" ] && [ $round -lt ${rounds} ]; do
  round=$((round + 1))
  for dev in /sys/class/net/*; do
    i=$(basename "$dev")
    [ "$i" = lo ] && continue
    ip link set "$i" up 2>/dev/null
    if udhcpc -i "$i" -s ${PHASE1_PATHS.udhcpcScript} -q -f -n -t 3 -T 1 >/dev/null 2>&1; then got=$i; break; fi
  done
done
lease=${PHASE1_PATHS.lease}
if [ -n "$got" ]; then
  ip=$(sed -n 's/^ip=//p' $lease)
  siaddr=$(sed -n 's/^siaddr=//p' $lease)
  [ -z "$server" ] && [ -n "$siaddr" ] && [ "$siaddr" != 0.0.0.0 ] && server=$siaddr
  [ -z "$server" ] && server=$(sed -n 's/^serverid=//p' $lease)
  echo "boottorrent phase-1: $got has $ip, server $server"
else
  echo "boottorrent phase-1: no DHCP answer on any link"
fi
[ -n "$server" ] && echo "server=$server" >> $lease

# Stage two: the runtime (Node + the agent), unless the boot loader already loaded it.
if [ ! -x ${PHASE1_PATHS.node} ] && [ -f ${RUNTIME_PATHS.info} ]; then
  url=""
  for arg in $(cat /proc/cmdline); do
    case "$arg" in bt.runtime=*) url="\${arg#bt.runtime=}" ;; esac
  done
  mac=$(sed -n 's/^mac=//p' $lease)
  if [ -n "$url" ] && [ -n "$mac" ]; then
    BT_RUNTIME_URL=$url BT_MAC=$mac sh ${RUNTIME_PATHS.script}
  else
    echo "boottorrent phase-1: no bt.runtime= URL or no lease: cannot fetch the runtime"
  fi
fi

while true; do
  setsid cttyhack ${PHASE1_PATHS.node} ${PHASE1_PATHS.agent}
  echo "boottorrent phase-1: the agent exited ($?); here is a shell, exit it to restart the agent"
  setsid cttyhack sh
done
`;
}
