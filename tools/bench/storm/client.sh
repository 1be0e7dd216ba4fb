#!/bin/sh
# One machine of the storm benchmark, inside its namespace, under busybox (PATH): what iPXE does
# (the per-client boot script, then every file it names, following redirects), then what phase-1's
# /init does: the runtime script taken out of the base it fetched (the same script, not a copy), then
# the agent from what phase-1 holds (its Node, its agent.mjs) with the boot script's command line,
# until it runs kexec -e (KEXEC, a stub that records the call and ends the agent).
# Environment: BB_BIN (a folder of busybox applet links), SERVER (host:port), MAC, IP, WORK (empty
# folder), XZ (the host's xz: the kernel's role of unpacking initrds, whose x86 filter busybox cannot
# decode), KEXEC (the stub), BUSID (optional: what iPXE's ${netX/busid:hexraw} expands to on this
# machine; a veth has no PCI id, so a machine's NIC is taken to be QEMU's default NIC model,
# e1000, 8086:100e). Prints one JSON line per milestone: loader, phase1, agent (unpacked, the agent
# starts), downloaded, ready; and seedStop with why the agent stopped seeding (none-waiting, seed-time,
# seed-time-max).
set -e
export PATH="$BB_BIN"
cd "$WORK"
wget -q -O boot.ipxe "http://$SERVER/boot.ipxe?mac=$MAC"
initrds=""
for u in $(sed -n 's/^kernel \([^ ]*\).*/\1/p; s/^initrd \([^ ]*\).*/\1/p' boot.ipxe); do
  # iPXE expands settings in a command's arguments before it fetches (src/core/exec.c).
  u=$(echo "$u" | sed 's|${netX/busid:hexraw}|'"${BUSID:-018086100e}"'|g')
  wget -q -O "$(basename "$u")" "$u"
  case "$u" in *vmlinuz*) ;; *) initrds="$initrds $(basename "$u")" ;; esac
done
echo '{"event":"loader"}'
mkdir -p root
url=$(sed -n 's/^kernel .* bt\.runtime=\([^ ]*\).*/\1/p' boot.ipxe)
if [ -n "$url" ]; then
  "$XZ" -dc base.cpio.xz | (cd root && cpio -idm etc/boottorrent/runtime etc/boottorrent/runtime.sh 2>/dev/null)
  # It holds phase-1 once the runtime passed its SHA-256 check (the script then serves and unpacks it).
  # runtime-progress.log: the size of the download in flight twice a second (uptime, bytes), for --keep.
  (while :; do
    for f in "$WORK"/run/*.part; do [ -f "$f" ] && echo "$(cut -d' ' -f1 /proc/uptime) $(stat -c %s "$f")"; done
    [ -e "$WORK/run/httpd.pid" ] && break
    sleep 0.5
  done >runtime-progress.log 2>/dev/null) &
  BT_RUNTIME_URL=$url BT_MAC=$MAC BT_INFO=root/etc/boottorrent/runtime BT_DIR="$WORK/run" BT_ROOT="$WORK/root" \
    sh root/etc/boottorrent/runtime.sh 2>&1 | while read -r line; do
    echo "$(cut -d' ' -f1 /proc/uptime) $line" >>runtime.log
    case "$line" in *"SHA-256 checked"*) echo '{"event":"phase1"}' ;; esac
  done
  grep -q "SHA-256 checked" runtime.log
else
  # One stage: the boot loader brought Node and the agent.
  echo '{"event":"phase1"}'
fi
# The kernel's part: unpack what the boot loader loaded (base aside: its /init is this script's job).
for f in $initrds; do
  case "$f" in
  base.*) ;;
  *.xz) "$XZ" -dc "$f" | (cd root && cpio -idmu 2>/dev/null) ;;
  *.gz) gzip -dc "$f" | (cd root && cpio -idmu 2>/dev/null) ;;
  esac
done
echo '{"event":"agent"}'
# What /init and its udhcpc script leave for the agent: the command line and the lease.
sed -n 's/^kernel [^ ]* //p' boot.ipxe >cmdline
printf 'interface=eth0\nmac=%s\nip=%s\nserver=%s\n' "$MAC" "$IP" "${SERVER%:*}" >lease
mkdir -p oss
: >kexec.log
BT_PAYLOAD="$WORK/root/boottorrent" BT_CMDLINE="$WORK/cmdline" BT_LEASE="$WORK/lease" BT_DATA="$WORK/oss" \
  BT_CONSOLES=stdio BT_KEXEC="$KEXEC" STORM_KEXEC_LOG="$WORK/kexec.log" \
  root/lib64/ld-linux-x86-64.so.2 --library-path root/lib/x86_64-linux-gnu root/usr/bin/node root/agent.mjs \
  </dev/null 2>&1 | while IFS= read -r line; do
  echo "$line" >>agent.log
  case "$line" in
  *"Downloaded "*) echo '{"event":"downloaded"}' ;;
  *"Stopped seeding after "*"no machine is waiting"*) echo '{"event":"seedStop","why":"none-waiting"}' ;;
  *"Stopped seeding after "*"seed_time reached"*) echo '{"event":"seedStop","why":"seed-time"}' ;;
  *"Stopped seeding after "*"seed_time_max is reached"*) echo '{"event":"seedStop","why":"seed-time-max"}' ;;
  *"could not boot"* | *"agent crashed"*) echo "$line" >&2 && echo '{"event":"error"}' ;;
  esac
done
grep -q '^exec' kexec.log || { tail -n 5 agent.log >&2; exit 1; }
echo '{"event":"ready"}'
