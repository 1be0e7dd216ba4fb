/** oss/README.md as written by `boottorrent init`. */
export const OSS_README = `# oss/: one folder per operating system

Each folder holds the OS files and a \`config.yaml\`. The folder name is the OS's key (\`default_os\`,
\`bt.os=\` on the client's kernel command line) and the torrent's name. Every file in the folder is shared
over BitTorrent; clients keep the whole folder in RAM, so keep only what the OS needs.

Paths in config.yaml are relative to the folder and may not leave it (no \`..\`, no absolute path, no
symlink pointing outside).

## method: kexec — boot a Linux kernel

\`\`\`yaml
dispname: Debian 12 live
method: kexec
kernel: vmlinuz
initrd: [initrd.img, extra.cpio.gz]   # one file or a list, loaded in order
cmdline: console=ttyS0 quiet
\`\`\`

## method: bin — run a program on the phase-1 Linux

\`\`\`yaml
dispname: Memory test
method: bin
bin: memtest.sh
binargs: --passes 2       # a string (split like a shell) or a list
\`\`\`

## method: qemu — run the OS in qemu-system-x86_64 on the client

\`\`\`yaml
dispname: FreeDOS
method: qemu              # the original names bin-qemu-x86_64 and qemu-iso work too
args: -m 512 -fda freedos.img
\`\`\`

The original project's \`method: qemu-iso\` with \`isofile: disc.iso\` boots the ISO with \`-cdrom\`.
`;
