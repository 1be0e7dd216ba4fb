#!/usr/bin/env bash
# The smallest OS for the qemu method: a 512-byte BIOS boot sector that prints a marker on the serial
# port (COM1, I/O port 0x3f8) and on the screen (BIOS int 10h teletype), then halts. Phase-1 runs it
# under its own qemu-system-x86_64 (the server puts QEMU into phase-1 when an OS uses the qemu
# method). See docs/oses.md.
#
#   tools/oses/qemu-bootsector.sh OS_DIR [MARKER]   # writes OS_DIR/{config.yaml,bootsector.img}
set -euo pipefail
out=${1:?usage: $0 OS_DIR [MARKER]}
marker=${2:-BOOTTORRENT-BOOTSECTOR-OK}
[ ${#marker} -le 470 ] && [[ $marker =~ ^[[:print:]]+$ ]] || { echo "qemu-bootsector: the marker must be 1-470 printable characters" >&2; exit 1; }
mkdir -p "$out"
img=$out/bootsector.img
# 16-bit real mode, loaded at 0000:7c00. Offsets on the left; the message starts at 0x27 (0x7c27).
# The serial port first, the screen second: SeaBIOS echoes int 10h text to the serial port under
# -nographic, which would interleave with the port writes.
code=(
  31 c0        # 00 xor ax,ax
  8e d8        # 02 mov ds,ax
  fc           # 04 cld
  be 27 7c     # 05 mov si,0x7c27      ; the message
  ba f8 03     # 08 mov dx,0x3f8       ; COM1's data register
  ac           # 0b lodsb              ; serial loop: al = [si++]
  84 c0        # 0c test al,al
  74 03        # 0e jz 0x13            ; the 0 that ends the message
  ee           # 10 out dx,al
  eb f8        # 11 jmp 0x0b
  be 27 7c     # 13 mov si,0x7c27
  ac           # 16 lodsb              ; screen loop
  84 c0        # 17 test al,al
  74 08        # 19 jz 0x23
  b4 0e        # 1b mov ah,0x0e        ; int 10h teletype output
  31 db        # 1d xor bx,bx          ; page 0
  cd 10        # 1f int 0x10
  eb f3        # 21 jmp 0x16
  fa           # 23 cli
  f4           # 24 hlt                ; done: halt (QEMU idles)
  eb fd        # 25 jmp 0x24
)
{
  printf "$(printf '\\x%s' "${code[@]}")"
  printf '%s\r\n\0' "$marker"
} >"$img"
size=$(stat -c %s "$img")
head -c $((510 - size)) /dev/zero >>"$img"
printf '\x55\xaa' >>"$img" # the BIOS boots a sector that ends with 55 aa
cat >"$out/config.yaml" <<'YAML'
dispname: Boot sector under QEMU
method: qemu
# -nographic: the guest's serial port and QEMU's output on the terminal phase-1 hands over.
# tb-size: TCG's code cache in MiB (QEMU sizes it from the host's RAM otherwise).
args: -nographic -monitor none -no-reboot -net none -m 16 -accel tcg,tb-size=32 -drive file=bootsector.img,format=raw,if=floppy
YAML
echo "qemu-bootsector: $out (bootsector.img, 512 B)" >&2
