import { z } from 'zod';
import { isIpv4, isMac, isNetmask } from './ipv4.js';

/**
 * The project's `config.yaml`, schema first: types are inferred from it, the JSON Schema shipped in
 * schema/ is generated from it, and so are the comments `boottorrent init` writes and
 * docs/config-reference.md. Keys are snake_case as in the original project's files.
 */

const ipv4 = () => z.string().refine(isIpv4, { message: 'not an IPv4 address (use a.b.c.d)' });
const port = () => z.number().int().min(1).max(65535);

export const generalSchema = z
  .strictObject({
    version: z.literal(1).default(1).describe('Format version of this file. Always 1.'),
    timeout: z
      .number()
      .int()
      .default(10)
      .describe(
        'Menu countdown on the clients, in seconds. 0 boots the default OS at once; a negative value waits for a choice.',
      ),
    default_os: z
      .string()
      .min(1)
      .nullable()
      .default(null)
      .describe('Folder name under oss/ booted when the countdown ends. null: the first OS in the menu.'),
    seed_time: z
      .number()
      .int()
      .min(0)
      .default(30)
      .describe(
        'Seconds each client keeps seeding the OS after its download, before loading it, so later machines get it from peers.',
      ),
    seed_while_needed: z
      .boolean()
      .default(true)
      .describe(
        'Stop seeding before seed_time ends once the server knows no machine still needs the OS (every machine it has heard from in the last 5 minutes has it or boots another one), and seed past it while machines still do (up to seed_time_max). false: always seed the whole seed_time.',
      ),
    seed_time_max: z
      .number()
      .int()
      .min(0)
      .default(120)
      .describe(
        'With seed_while_needed: seconds in all a client may seed when seed_time ends while the server still knows machines that need the OS; it stops as soon as none does. Early machines then still serve the last ones. At most seed_time (e.g. 0): stop at seed_time.',
      ),
    host_ip: ipv4().describe('IPv4 address of this server as the clients see it, on the boot network.'),
  })
  .describe('The boot as a whole.');

export const dhcpSchema = z
  .strictObject({
    enable: z
      .boolean()
      .default(true)
      .describe('Run the DHCP server. Off: another DHCP server must point clients here.'),
    mode: z
      .enum(['server', 'proxy'])
      .default('server')
      .describe(
        'server: hand out addresses from `range`. proxy: give no addresses, only boot information, beside an existing DHCP server (proxyDHCP, ports 67 and 4011).',
      ),
    interface: z
      .string()
      .min(1)
      .default('eth0')
      .describe('Network interface of the boot network. It must exist and hold host_ip.'),
    range: z
      .strictObject({
        start: ipv4().describe('First address of the pool.'),
        end: ipv4().describe('Last address of the pool.'),
      })
      .optional()
      .describe('Address pool (server mode only).'),
    netmask: z
      .string()
      .refine(isNetmask, { message: 'not a netmask (use e.g. 255.255.255.0)' })
      .default('255.255.255.0')
      .describe('Subnet mask of the boot network.'),
    router: ipv4()
      .optional()
      .describe('Default gateway handed to clients (option 3). Omit on an isolated boot network.'),
    dns: z.array(ipv4()).default([]).describe('DNS servers handed to clients (option 6).'),
    lease_time: z.number().int().min(60).default(3600).describe('Lease time in seconds.'),
    reservations: z
      .array(
        z.strictObject({
          mac: z.string().refine(isMac, { message: 'not a MAC address (use aa:bb:cc:dd:ee:ff)' }),
          ip: ipv4(),
        }),
      )
      .default([])
      .describe('Fixed addresses by MAC: a list of {mac, ip}.'),
    legacy_pxelinux: z
      .boolean()
      .default(false)
      .describe("Give BIOS clients pxelinux.0 (the original project's path) instead of iPXE."),
    subnets: z
      .array(
        z.strictObject({
          range: z
            .strictObject({
              start: ipv4().describe('First address of the pool.'),
              end: ipv4().describe('Last address of the pool.'),
            })
            .describe('Address pool of that subnet.'),
          netmask: z
            .string()
            .refine(isNetmask, { message: 'not a netmask (use e.g. 255.255.255.0)' })
            .default('255.255.255.0')
            .describe('Subnet mask of that subnet.'),
          router: ipv4().describe(
            "Default gateway of that subnet: the relay's address there, which it puts in requests as giaddr.",
          ),
          dns: z.array(ipv4()).optional().describe('DNS servers there (option 6). Omitted: dhcp.dns.'),
          lease_time: z
            .number()
            .int()
            .min(60)
            .optional()
            .describe('Lease time in seconds there. Omitted: dhcp.lease_time.'),
        }),
      )
      .default([])
      .describe(
        "Subnets whose machines reach this server through a DHCP relay (ip helper-address), each {range: {start, end}, netmask, router, dns, lease_time}; router is the relay's address there. A relayed request gets an address from the subnet holding the relay's address (server mode); proxy mode answers relayed machines without it.",
      ),
  })
  .describe('DHCP for the booting machines.');

export const tftpSchema = z
  .strictObject({
    enable: z.boolean().default(true).describe('Serve the boot loaders over TFTP (firmware PXE needs it).'),
    port: port().default(69).describe('TFTP port.'),
  })
  .describe('TFTP, for the boot loaders only.');

export const httpSchema = z
  .strictObject({
    port: port()
      .default(8080)
      .describe('HTTP port: iPXE script, phase-1 files, web seed, client status API.'),
  })
  .describe('The HTTP server.');

export const trackerSchema = z
  .strictObject({
    enable: z.boolean().default(true).describe('Run the BitTorrent tracker (HTTP and UDP).'),
    port: port().default(6969).describe('Tracker port (TCP for HTTP announces, UDP for UDP announces).'),
    interval: z
      .number()
      .int()
      .min(1)
      .default(5)
      .describe('Announce interval in seconds: short, so peers find each other at once.'),
    announce: z
      .array(z.url())
      .default([])
      .describe('Extra announce URLs (external trackers) added after ours.'),
  })
  .describe('The BitTorrent tracker.');

export const torrentSchema = z
  .strictObject({
    piece_length: z
      .union([
        z.literal('auto'),
        z
          .number()
          .int()
          .refine((n) => n >= 16384 && n <= 16777216 && (n & (n - 1)) === 0, {
            message: "must be 'auto' or a power of two from 16384 to 16777216",
          }),
      ])
      .default('auto')
      .describe(
        'Piece length in bytes, or auto: at most 512 pieces per OS, 64 KiB to 4 MiB (64 MiB gets 128 KiB). Smaller pieces spread through the room sooner; 16 machines took 35 s with 128 KiB pieces and 41.5 s with 1 MiB (docs/performance.md).',
      ),
    port: port().default(6881).describe("BitTorrent port of the server's seeder."),
    lsd: z.boolean().default(false).describe('Local peer discovery (BEP 14) on the clients.'),
    pex: z.boolean().default(true).describe('Peer exchange (BEP 11) on the clients.'),
    web_seed: z
      .boolean()
      .default(true)
      .describe('Offer the HTTP web seed (BEP 19) as a fallback when no peer makes progress.'),
    upload_limit_mbit: z
      .number()
      .nonnegative()
      .default(0)
      .describe(
        "Cap on the server seeder's BitTorrent upload in Mbit/s, summed over all peers; 0: no cap. For a server whose link carries other traffic too: the machines then take more of the OS from each other. Phase-1 and the web seed are not capped. A reload applies a new value at once.",
      ),
  })
  .describe('Torrents and peers.');

/** Levels each compressor takes (the kernel's zstd decoder needs the window of level 19 or less). */
export const PHASE1_LEVELS = { xz: [0, 9], zstd: [1, 19], gzip: [1, 9] } as const;

export const phase1Schema = z
  .strictObject({
    compression: z
      .enum(['xz', 'zstd', 'gzip'])
      .default('xz')
      .describe(
        'xz gives the smallest phase-1 (39 MB vs 43 MB with zstd), which every client downloads from this one server, while zstd unpacks about twice as fast, for fast links and quick labs.',
      ),
    level: z
      .number()
      .int()
      .nullable()
      .default(null)
      .describe(
        "Compression level (xz 0-9, zstd 1-19, gzip 1-9). null: the compressor's default (xz 6, zstd 19, gzip 9); lower builds faster and bigger.",
      ),
    runtime_server_slots: z
      .number()
      .int()
      .min(1)
      .max(64)
      .default(1)
      .describe(
        "How many clients download phase-1's runtime (Node + agent, ~28 MB) from this server at once. The others wait a moment and get it from a client that already holds it, so a small number lets the first clients finish fast and pass it on.",
      ),
    runtime_peer_slots: z
      .number()
      .int()
      .min(1)
      .max(16)
      .default(1)
      .describe(
        'How many clients each client that holds the runtime serves at once. Every copy is checked against the SHA-256 in what the server served before it is unpacked.',
      ),
    loader_slots: z
      .number()
      .int()
      .min(0)
      .max(256)
      .default(1)
      .describe(
        'How many boot loader downloads (kernel, base, payload) the server sends at once, first come first served, runtime copies first. 1 lets machines finish one after another and pass the runtime on while the server sends the rest; 0 sends to everyone at once.',
      ),
    seeder_share: z
      .number()
      .gt(0)
      .max(1)
      .default(0.1)
      .describe(
        "Share of the server's upload the seeder keeps while the server sends boot loader files or runtime copies (through loader_slots) or machines queue for them; the rest goes to phase-1, which only the server can send, while the OS can come from peers later. 1: the seeder never gives way. The share is of the fastest rate the link was seen to carry in the last 10 s, and never below 256 KiB/s.",
      ),
  })
  .describe('The phase-1 Linux every client loads first (kernel, busybox, Node, the agent).');

const section = <T extends z.ZodType>(s: T) => s.prefault({} as never);

/** Longest `cmdline` of a `machines:` entry (phase-1's command line must stay far below 4 KiB). */
export const MAX_MACHINE_CMDLINE = 512;

/** One `machines:` entry: which machines (by MAC, list or prefix) boot what, and how. */
export const machineSchema = z
  .strictObject({
    mac: z
      .union([z.string(), z.array(z.string()).min(1)])
      .describe(
        'The machines this entry is for: one MAC (aa:bb:cc:dd:ee:ff), a list of MACs, or a prefix pattern such as aa:bb:cc:* (a room of one vendor). An exact MAC wins over a pattern, a longer prefix over a shorter one.',
      ),
    name: z
      .string()
      .min(1)
      .optional()
      .describe('A label for people (a room, a rack, a desk), shown in the API.'),
    os: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Folder name under oss/ this machine boots (preselected in the menu). Omit: general.default_os.',
      ),
    menu: z
      .boolean()
      .default(true)
      .describe(
        'Show the menu (with the countdown from general.timeout and `os` preselected). false: boot `os` at once.',
      ),
    cmdline: z
      .string()
      .max(MAX_MACHINE_CMDLINE)
      .default('')
      .describe(
        'Extra kernel command line for this machine: added to phase-1 and to the command line of a kexec OS. Printable characters only; no quotes, $ or backslash.',
      ),
  })
  .describe('Settings for one machine or a group of machines.');

export type MachineConfig = z.infer<typeof machineSchema>;

export const projectConfigSchema = z
  .strictObject({
    general: generalSchema,
    dhcp: section(dhcpSchema),
    tftp: section(tftpSchema),
    http: section(httpSchema),
    tracker: section(trackerSchema),
    torrent: section(torrentSchema),
    phase1: section(phase1Schema),
    machines: z
      .array(machineSchema)
      .default([])
      .describe(
        'An OS per machine: a list of entries, each matching machines by MAC, list or MAC prefix, with the OS to boot, whether the menu is shown and extra kernel command line. The API (PUT /api/v1/machines/:mac) can override them at run time.',
      ),
  })
  .describe('BootTorrent project configuration (config.yaml).');

export type ProjectConfig = z.infer<typeof projectConfigSchema>;
export type ProjectConfigInput = z.input<typeof projectConfigSchema>;

const stringOrList = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);
const argsSchema = z.union([z.string(), z.array(z.string())]);

/**
 * An OS folder's `config.yaml`. Flat, as in the original project. `method` picks the loader; the
 * original names `bin-qemu-x86_64` and `qemu-iso` are accepted as the qemu method.
 */
export const osConfigSchema = z
  .strictObject({
    dispname: z.string().min(1).describe('Name shown in the boot menu. Unique across oss/.'),
    method: z
      .enum(['kexec', 'bin', 'qemu', 'bin-qemu-x86_64', 'qemu-iso'])
      .describe('kexec: boot a Linux kernel. bin: run a program. qemu: run qemu-system-x86_64 with args.'),
    kernel: z.string().min(1).optional().describe('kexec: the kernel file, relative to this folder.'),
    initrd: stringOrList.optional().describe('kexec: one initrd file or a list, joined in order.'),
    cmdline: z.string().default('').describe('kexec: the kernel command line.'),
    bin: z.string().min(1).optional().describe('bin: the program to run, relative to this folder.'),
    binargs: argsSchema.optional().describe('bin: arguments, a string (split on spaces) or a list.'),
    args: argsSchema.optional().describe('qemu: arguments for qemu-system-x86_64, a string or a list.'),
    isofile: z.string().min(1).optional().describe('qemu-iso (original name): the ISO to boot with qemu.'),
  })
  .describe('One OS folder (oss/<name>/config.yaml).');

export type OsConfig = z.infer<typeof osConfigSchema>;
