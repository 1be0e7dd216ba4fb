// Every command's metadata: name, summary, arguments and options, from which usage and --help are
// generated. Only this file is loaded for --help; each command's run() is a dynamic import, so help
// and version never load the server, webtorrent or QEMU helpers.
import { defineCommand, lazyCommand, type Command } from '../command.js';

const hostRoot = {
  type: 'string',
  multiple: true,
  placeholder: 'dir',
  description: 'Also look here for the kernel, its modules, busybox and kexec, e.g. an unpacked .deb',
} as const;
const phase1Dir = {
  type: 'string',
  placeholder: 'dir',
  defaultText: '<out>/phase1',
  description: 'Where phase-1 is built and cached; one can serve several projects',
} as const;
const outDir = {
  type: 'string',
  placeholder: 'dir',
  defaultText: '<project>/out',
  description: 'Output directory',
} as const;
const noSeeder = {
  type: 'boolean',
  description: 'Run no BitTorrent seeder: clients get the OS from each other and the HTTP web seed',
} as const;
const projectDir = { name: 'dir', description: 'The project directory', default: '.' } as const;

export const init = defineCommand({
  name: 'init',
  summary: 'Create a project directory: config.yaml, oss/ with an example OS, and JSON Schemas for editors.',
  positionals: [{ name: 'dir', description: 'The directory to create' }],
  options: {
    'host-ip': {
      type: 'string',
      placeholder: 'ip',
      defaultText: '192.168.50.1',
      description: "The server's IPv4 address on the boot network",
    },
    interface: {
      type: 'string',
      placeholder: 'name',
      defaultText: 'eth0',
      description: 'The boot network interface',
    },
  },
  details: 'Refuses to write into an existing non-empty directory.',
});

export const check = defineCommand({
  name: 'check',
  summary: 'Validate a project: config.yaml (or Boottorrent.yaml) and every oss/<name>/config.yaml.',
  positionals: [projectDir],
  options: {
    json: { type: 'boolean', description: 'Print the result as JSON: { ok, errors, warnings, oss }' },
  },
  details: 'Prints every problem at once as file:line:column key: what — how to fix. Exit 1 if any error.',
});

export const build = defineCommand({
  name: 'build',
  summary: 'Build out/: torrents, the payload initrd, phase-1 and the boot loaders (start does this too).',
  positionals: [projectDir],
  options: { out: outDir, 'host-root': hostRoot, 'phase1-dir': phase1Dir },
  details:
    'Idempotent: hashes are cached by path, size and mtime; phase-1 is rebuilt only when its inputs change.',
});

export const start = defineCommand({
  name: 'start',
  summary: 'Serve the boot: DHCP, TFTP, HTTP, tracker and seeder, with a live view of the clients.',
  positionals: [projectDir],
  options: {
    dir: {
      type: 'string',
      placeholder: 'dir',
      description: 'The project directory; overrides the argument',
    },
    json: { type: 'boolean', description: 'One JSON object per event on stdout instead of the live view' },
    'log-level': {
      type: 'string',
      choices: ['error', 'warn', 'info', 'debug'],
      default: 'info',
      placeholder: 'level',
      description: 'Least important event printed; debug adds every HTTP request and DHCP packet',
    },
    out: outDir,
    'host-root': hostRoot,
    'phase1-dir': phase1Dir,
    cmdline: {
      type: 'string',
      placeholder: 'text',
      description:
        'Extra kernel command line for phase-1, e.g. "bt.os=debian" to boot one OS without the menu',
    },
    'no-seeder': noSeeder,
  },
  details:
    'Needs root (or CAP_NET_BIND_SERVICE + CAP_NET_RAW) for DHCP and ports below 1024. SIGHUP reloads ' +
    'the project: new and changed OS folders are served without a restart (a broken config keeps the ' +
    'running one). Ctrl+C or SIGTERM ' +
    'stops gracefully; a second Ctrl+C exits at once. Without a terminal it prints one plain line per ' +
    'event (no colour, no timestamp; under systemd each line carries its journald priority). The ' +
    'dashboard is at http://<host_ip>:<http port>/, Prometheus metrics at /metrics.',
});

export const lab = defineCommand({
  name: 'lab',
  summary: 'Boot a virtual room: a private network, the server, and N QEMU VMs PXE-booting over BitTorrent.',
  positionals: [],
  options: {
    vms: { type: 'integer', min: 1, default: 3, placeholder: 'n', description: 'Number of VMs' },
    uefi: { type: 'boolean', description: 'UEFI firmware (OVMF) instead of SeaBIOS' },
    kvm: { type: 'boolean', description: 'Use KVM instead of TCG where the host can run these guests' },
    memory: {
      type: 'integer',
      min: 192,
      default: 1024,
      placeholder: 'mib',
      description: 'RAM per VM in MiB; phase-1 with Node needs ≥ 320 plus the OS',
    },
    nic: {
      type: 'string',
      default: 'virtio-net-pci',
      placeholder: 'model',
      description: 'QEMU NIC model; e1000 works too',
    },
    timeout: {
      type: 'integer',
      min: 10,
      default: 400,
      placeholder: 's',
      description: 'Seconds for every VM to reach its OS',
    },
    'work-dir': {
      type: 'string',
      placeholder: 'dir',
      defaultText: '~/.cache/boottorrent/lab',
      description: 'Where the demo project, out/ and serial logs go',
    },
    project: {
      type: 'string',
      placeholder: 'dir',
      description:
        'Boot this project instead of the demo; its host_ip becomes the bridge address, interface br0',
    },
    expect: {
      type: 'string',
      placeholder: 'regex',
      defaultText: "the demo OS's marker",
      description:
        'A VM has booted its OS when its console matches this (JavaScript regex); give it with --project',
    },
    mode: {
      type: 'string',
      choices: ['server', 'proxy'],
      default: 'server',
      description: 'Demo DHCP mode; proxy goes with --site-dhcp',
    },
    'site-dhcp': {
      type: 'boolean',
      description: 'Also run a site DHCP server (dnsmasq on a second host) handing out the addresses',
    },
    'menu-timeout': {
      type: 'integer',
      min: 0,
      default: 3,
      placeholder: 's',
      description: 'Demo: menu countdown in seconds',
    },
    'seed-time': {
      type: 'integer',
      min: 0,
      default: 20,
      placeholder: 's',
      description: 'Demo: seconds each client seeds before loading its OS',
    },
    'padding-mib': {
      type: 'integer',
      min: 0,
      default: 24,
      placeholder: 'mib',
      description: 'Demo: extra MiB in the demo OS, so the swarm has something to share',
    },
    'no-tracker': { type: 'boolean', description: 'Demo: disable the tracker' },
    'no-seeder': noSeeder,
    'kill-vm': {
      type: 'integer',
      min: 0,
      placeholder: 'n',
      description: 'Fault: power off VM <n> (0-based) at 30% of its download; the others must still boot',
    },
    stagger: {
      type: 'integer',
      min: 0,
      default: 0,
      placeholder: 's',
      description: 'Seconds between VM power-ons',
    },
    'kill-runtime-holder': {
      type: 'boolean',
      description:
        "Fault: power off the first VM that serves phase-1's runtime to another, mid-serve; the others must still boot",
    },
    'install-deps': {
      type: 'boolean',
      description:
        'apt-get install what is missing and unpack a kernel and busybox-static; nothing is installed without it',
    },
    'host-root': hostRoot,
    json: { type: 'boolean', description: 'Print the result as JSON instead of the table' },
  },
  details:
    'Needs root (namespaces, taps). Everything runs inside a network namespace the lab creates and removes, ' +
    'even on failure or Ctrl+C. Exit 1 if any VM fails to reach its OS. Serial logs: <work-dir>/vm<n>.serial.log.',
});

export const wake = defineCommand({
  name: 'wake',
  summary: 'Power machines on with Wake-on-LAN: a magic packet to each, broadcast on the boot interface.',
  positionals: [projectDir],
  options: {
    mac: {
      type: 'string',
      multiple: true,
      placeholder: 'mac',
      description: 'A machine to wake (repeatable), e.g. 52:54:00:12:34:56',
    },
    all: {
      type: 'boolean',
      description: 'Every known machine: DHCP leases in out/leases.json, machines: and dhcp.reservations',
    },
    out: outDir,
  },
  details:
    'One UDP packet per machine (6 × 0xFF, then the MAC 16 times) to the broadcast address of the ' +
    'interface holding general.host_ip, port 9. Needs no privileges. The machine must have WoL enabled.',
});

export const service = defineCommand({
  name: 'service',
  summary: 'Install or remove a systemd unit that runs `start` for a project as a dedicated user.',
  positionals: [{ name: 'action', description: 'install or remove' }, projectDir],
  options: {
    user: {
      type: 'string',
      placeholder: 'name',
      defaultText: 'boottorrent',
      description: 'The system user the service runs as (created with systemd-sysusers)',
    },
    root: {
      type: 'string',
      placeholder: 'dir',
      description: 'Write the files under this directory instead of / and run nothing (packaging, tests)',
    },
  },
  details:
    'install writes /etc/systemd/system/boottorrent-<project folder>.service (not root: only ' +
    'CAP_NET_BIND_SERVICE, plus CAP_NET_RAW with DHCP; the file system read-only but the project) and ' +
    '/etc/sysusers.d/boottorrent.conf, creates the user, hands it the project and reloads systemd. ' +
    'Then: systemctl enable --now <unit>; systemctl reload <unit> re-reads the project (SIGHUP). ' +
    'remove stops, disables and deletes the unit.',
});

export const version = defineCommand({
  name: 'version',
  summary: 'Print the version of boottorrent and of Node.',
  positionals: [],
  options: {},
});

/** In the order `boottorrent --help` lists them. */
export const COMMANDS: readonly Command[] = [
  lazyCommand(init, () => import('./init.js')),
  lazyCommand(check, () => import('./check.js')),
  lazyCommand(build, () => import('./build.js')),
  lazyCommand(start, () => import('./start.js')),
  lazyCommand(lab, () => import('./lab.js')),
  lazyCommand(wake, () => import('./wake.js')),
  lazyCommand(service, () => import('./service.js')),
  lazyCommand(version, () => import('./version.js')),
];
