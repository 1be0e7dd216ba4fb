#!/usr/bin/env bash
# Installs everything the demo and the tests need on a Debian 12 machine that has Node and npm.
# Idempotent: a second run only checks. Used by the README quick start and by .ci/run.
#
#  1. Debian packages the tests drive for real (QEMU, firmware, boot loaders, real protocol peers).
#  2. Debian packages we must not install (a kernel image, busybox-static which conflicts with busybox,
#     daemons that would start a service in the root namespace) are fetched with `apt-get download`
#     and unpacked with `dpkg -x` under .cache/deb/<package>/.
#  3. npm ci (which also puts the pinned Node 24 first on PATH for npm scripts).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

APT_PACKAGES=(
  qemu-system-x86 qemu-utils ipxe-qemu ipxe pxelinux syslinux-common syslinux-efi ovmf seabios
  dnsmasq-base kmod zstd xz-utils cpio iproute2 tcpdump kexec-tools
  tftp-hpa atftp curl busybox isc-dhcp-client aria2 mktorrent
  libowfat0 libwrap0
  python3 make g++  # node-gyp, for @boottorrent/tftp's native wire (headers: the nodejs package's /usr/include/node)
  chromium  # the dashboard test's headless browser
  tesseract-ocr netpbm  # the agent's screen test reads a VM's screendump (PPM) with OCR
  debootstrap  # tools/oses/debian-live.sh builds a Debian 12 root filesystem (docs/oses.md)
  systemd util-linux  # systemd-analyze verify checks the service unit; setpriv runs start with two capabilities
)
# Unpacked, never installed: name in .cache/deb → Debian package.
declare -A EXTRACT=(
  [linux-image]=linux-image-amd64
  [busybox-static]=busybox-static
  [tftpd-hpa]=tftpd-hpa
  [opentracker]=opentracker
  [prometheus]=prometheus  # promtool checks /metrics; installed, it would start a Prometheus server
  [isc-dhcp-relay]=isc-dhcp-relay  # dhcrelay for the relay tests; installed, it would start a service
  [debian-installer]=debian-installer-12-netboot-amd64  # tools/oses/debian-installer.sh (docs/oses.md)
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

mkdir -p .cache/deb
for name in "${!EXTRACT[@]}"; do
  dest=.cache/deb/$name
  [ -f "$dest/.done" ] && continue
  pkg=${EXTRACT[$name]}
  tmp=$(mktemp -d)
  echo "setup: fetching $pkg (unpacked into $dest, not installed)"
  (cd "$tmp" && apt-get download -qq "$pkg" >/dev/null 2>&1) || { $SUDO apt-get update -qq; (cd "$tmp" && apt-get download -qq "$pkg" >/dev/null); }
  if [ "$pkg" = linux-image-amd64 ]; then
    # The metapackage depends on the real image; fetch that one.
    real=$(dpkg-deb -f "$tmp"/linux-image-amd64_*.deb Depends | grep -o 'linux-image-[0-9][^ ,]*' | head -n1)
    (cd "$tmp" && apt-get download -qq "$real" >/dev/null)
    rm -f "$tmp"/linux-image-amd64_*.deb
  fi
  rm -rf "$dest" && mkdir -p "$dest"
  for deb in "$tmp"/*.deb; do dpkg -x "$deb" "$dest"; done
  if [ "$pkg" = linux-image-amd64 ]; then
    kver=$(ls "$dest/lib/modules" | head -n1)
    depmod -b "$dest" "$kver"
  fi
  rm -rf "$tmp"
  touch "$dest/.done"
done

if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
echo "setup: ready ($(node_modules/.bin/node --version) pinned)"
