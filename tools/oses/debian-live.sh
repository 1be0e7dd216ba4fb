#!/usr/bin/env bash
# A real Debian 12 system (systemd, systemd-networkd on DHCP, a login prompt on the console) as an
# OS folder for BootTorrent: the kernel plus the whole root filesystem packed as one zstd initramfs,
# so it travels over BitTorrent with the kernel and lives in RAM after kexec, like a live system for
# a computer room. See docs/oses.md.
#
#   tools/oses/debian-live.sh OS_DIR      # as root; writes OS_DIR/{config.yaml,vmlinuz,rootfs.cpio.zst}
#
# Needs: debootstrap, zstd, cpio, kmod (tools/setup.sh installs them) and the kernel tools/setup.sh
# unpacks into .cache/deb/linux-image (the kernel phase-1 runs; the rootfs carries only its NIC
# modules). debootstrap fetches from the Debian mirror apt uses (/etc/apt/sources.list*), or from
# $DEBIAN_MIRROR. The built rootfs is cached in .cache/oses/debian-live-<hash of the inputs>/ (the
# inputs: this script, the mirror, the kernel version), so CI builds it once (~30 s, then ~1 s).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:?usage: $0 OS_DIR (as root)}
[ "$(id -u)" = 0 ] || { echo "debian-live: debootstrap needs root; run it with sudo" >&2; exit 1; }
for tool in debootstrap zstd cpio depmod; do
  command -v "$tool" >/dev/null || { echo "debian-live: $tool is missing; run tools/setup.sh" >&2; exit 1; }
done

SUITE=bookworm
# systemd-sysv: systemd as /sbin/init (getty on the console, networkd); udev + kmod load the NIC
# module; iproute2 to look at the network.
INCLUDE=systemd-sysv,udev,kmod,iproute2
HOSTNAME=bt-debian

mirror=${DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
  # The first Debian main archive apt uses: deb822 "URIs:" or one-line "deb URL bookworm main".
  mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null |
    awk '/^URIs:/ && $2 !~ /security/ {print $2; exit} /^deb / && $3 ~ /^bookworm$/ {print $2; exit}' || true)
fi
[ -n "$mirror" ] || { echo "debian-live: no Debian mirror in /etc/apt/sources.list*; set DEBIAN_MIRROR" >&2; exit 1; }

kroot=$repo/.cache/deb/linux-image
kernel=$(ls "$kroot"/boot/vmlinuz-* 2>/dev/null | head -n1)
[ -n "$kernel" ] || { echo "debian-live: no kernel in $kroot; run tools/setup.sh" >&2; exit 1; }
kver=${kernel##*/vmlinuz-}

key=$( (cat "$0"; echo "$mirror $SUITE $INCLUDE $kver") | sha256sum | cut -c1-16)
cache=$repo/.cache/oses/debian-live-$key
if [ ! -f "$cache/rootfs.cpio.zst" ]; then
  tmp=$(mktemp -d "$repo/.cache/debian-live.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  root=$tmp/root
  echo "debian-live: debootstrap $SUITE from $mirror (about 30 s)" >&2
  debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$root" "$mirror" >"$tmp/debootstrap.log" 2>&1 ||
    { tail -n 20 "$tmp/debootstrap.log" >&2; echo "debian-live: debootstrap failed (log above)" >&2; exit 1; }

  echo "$HOSTNAME" >"$root/etc/hostname"
  printf '127.0.0.1 localhost\n127.0.1.1 %s\n' "$HOSTNAME" >"$root/etc/hosts"
  : >"$root/etc/fstab"
  # A live system in a computer room: root logs in without a password on the console. Set one
  # (chroot "$root" passwd) for anything else.
  chroot "$root" passwd -d root >/dev/null
  # DHCP on every wired NIC with systemd-networkd.
  mkdir -p "$root/etc/systemd/network"
  printf '[Match]\nName=en* eth*\n\n[Network]\nDHCP=yes\n' >"$root/etc/systemd/network/50-wired.network"
  # Once the network is up (or networkd gave up waiting), its address on the console, before the login
  # prompts: a person at the screen (and the lab test) sees the machine is on the network.
  cat >"$root/etc/systemd/system/network-address.service" <<'UNIT'
[Unit]
Description=Show the network address on the console
Wants=network-online.target
After=network-online.target
Before=getty.target serial-getty@ttyS0.service getty@tty1.service

[Service]
Type=oneshot
ExecStart=/bin/sh -c 'echo "bt-debian network: $(ip -4 -brief address show scope global)"'
StandardOutput=journal+console

[Install]
WantedBy=multi-user.target
UNIT
  chroot "$root" systemctl enable systemd-networkd.service systemd-networkd-wait-online.service \
    network-address.service >/dev/null 2>&1
  # The kernel runs /init from the initramfs: systemd, the system's init.
  ln -s /sbin/init "$root/init"
  # The NIC modules of the kernel it boots (virtio-net, e1000, e1000e), so udev finds the network.
  for m in drivers/virtio/virtio_ring.ko drivers/virtio/virtio.ko drivers/virtio/virtio_pci_modern_dev.ko \
    drivers/virtio/virtio_pci_legacy_dev.ko drivers/virtio/virtio_pci.ko net/core/failover.ko \
    drivers/net/net_failover.ko drivers/net/virtio_net.ko drivers/net/ethernet/intel/e1000/e1000.ko \
    drivers/net/ethernet/intel/e1000e/e1000e.ko; do
    src=$kroot/lib/modules/$kver/kernel/$m
    [ -f "$src" ] || continue
    install -D -m 0644 "$src" "$root/lib/modules/$kver/kernel/$m"
  done
  cp "$kroot/lib/modules/$kver"/modules.{order,builtin,builtin.modinfo} "$root/lib/modules/$kver/" 2>/dev/null || true
  depmod -b "$root" "$kver"
  # What a RAM-resident system does not need: docs, manuals, locales, apt's caches.
  rm -rf "$root"/usr/share/{doc,man,info,locale} "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* \
    "$root"/var/log/*.log "$root"/var/cache/debconf/*-old
  du -sb "$root" | cut -f1 >"$tmp/rootfs.bytes"

  mkdir -p "$tmp/out"
  (cd "$root" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet --owner=0:0 --reproducible) |
    zstd -q -T0 -12 >"$tmp/out/rootfs.cpio.zst"
  cp "$tmp/rootfs.bytes" "$tmp/out/"
  rm -rf "$cache" && mkdir -p "$(dirname "$cache")" && mv "$tmp/out" "$cache"
fi

mkdir -p "$out"
cp "$kernel" "$out/vmlinuz"
ln -f "$cache/rootfs.cpio.zst" "$out/rootfs.cpio.zst" 2>/dev/null || cp "$cache/rootfs.cpio.zst" "$out/rootfs.cpio.zst"
cat >"$out/config.yaml" <<EOF
dispname: Debian 12 live (systemd, in RAM)
method: kexec
kernel: vmlinuz
initrd: rootfs.cpio.zst
cmdline: console=tty0 console=ttyS0,115200 quiet
EOF
echo "debian-live: $out ($(du -b "$out/rootfs.cpio.zst" | cut -f1) B initramfs, unpacks to $(cat "$cache/rootfs.bytes") B)" >&2
