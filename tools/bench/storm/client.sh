#!/bin/sh
# One machine of the storm benchmark, inside its namespace, under busybox (PATH): what iPXE does
# (the per-client boot script, then every file it names, following redirects), then what phase-1's
# /init does: the runtime script taken out of the base it fetched (the same script, not a copy).
# Environment: BB_BIN (a folder of busybox applet links), SERVER (host:port), MAC, WORK (empty folder),
# XZ (the host's xz: the kernel's role of unpacking base, whose x86 filter busybox cannot decode).
# Prints one JSON line per milestone.
set -e
export PATH="$BB_BIN"
cd "$WORK"
wget -q -O boot.ipxe "http://$SERVER/boot.ipxe?mac=$MAC"
for u in $(sed -n 's/^kernel \([^ ]*\).*/\1/p; s/^initrd \([^ ]*\).*/\1/p' boot.ipxe); do
  wget -q -O "$(basename "$u")" "$u"
done
echo '{"event":"loader"}'
url=$(sed -n 's/^kernel .* bt\.runtime=\([^ ]*\).*/\1/p' boot.ipxe)
if [ -n "$url" ]; then
  mkdir -p root
  "$XZ" -dc base.cpio.xz | (cd root && cpio -idm etc/boottorrent/runtime etc/boottorrent/runtime.sh 2>/dev/null)
  # It holds phase-1 once the runtime passed its SHA-256 check (the script then serves and unpacks it).
  BT_RUNTIME_URL=$url BT_MAC=$MAC BT_INFO=root/etc/boottorrent/runtime BT_DIR="$WORK/run" BT_ROOT="$WORK/root" \
    sh root/etc/boottorrent/runtime.sh 2>&1 | while read -r line; do
    echo "$line" >>runtime.log
    case "$line" in *"SHA-256 checked"*) echo '{"event":"phase1"}' ;; esac
  done
  grep -q "SHA-256 checked" runtime.log
else
  # One stage: the boot loader brought Node and the agent (the kernel unpacks them, as for base).
  echo '{"event":"phase1"}'
fi
