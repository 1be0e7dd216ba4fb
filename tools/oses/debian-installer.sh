#!/usr/bin/env bash
# Debian 12's installer as an OS folder for BootTorrent: Debian's own netboot kernel and initrd
# (package debian-installer-12-netboot-amd64), kexec'd with its console on the serial port and the
# screen. Its first screen asks for the language ("[!!] Select a language"). See docs/oses.md.
#
#   tools/oses/debian-installer.sh OS_DIR     # writes OS_DIR/{config.yaml,linux,initrd.gz}
#
# The files come from .cache/deb/debian-installer (tools/setup.sh unpacks the package there with
# `apt-get download debian-installer-12-netboot-amd64 && dpkg -x`); any unpacked copy can be given
# as $DI_ROOT.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:?usage: $0 OS_DIR}
root=${DI_ROOT:-$repo/.cache/deb/debian-installer}
src=$root/usr/lib/debian-installer/images/12/amd64/text/debian-installer/amd64
for f in linux initrd.gz; do
  [ -f "$src/$f" ] || {
    echo "debian-installer: $src/$f is missing; run tools/setup.sh (it unpacks debian-installer-12-netboot-amd64)" >&2
    exit 1
  }
done
mkdir -p "$out"
cp "$src/linux" "$src/initrd.gz" "$out/"
cat >"$out/config.yaml" <<'YAML'
dispname: Debian 12 installer
method: kexec
kernel: linux
initrd: initrd.gz
# The last console= is the one the installer's dialogs use; the screen (tty0) shows the kernel's log.
cmdline: console=tty0 console=ttyS0,115200
YAML
echo "debian-installer: $out ($(du -cb "$out/linux" "$out/initrd.gz" | tail -n1 | cut -f1) B)" >&2
