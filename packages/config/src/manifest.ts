import { z } from 'zod';

/**
 * One OS as a booting machine sees it: how to fetch it (torrent) and how to load it (method).
 * Paths inside `kexec`/`bin`/`qemu` are relative to the OS folder, which is also the torrent's root.
 */
export const manifestOsSchema = z.object({
  /** Folder name under oss/, also the torrent's name and the `bt.os=` value. */
  name: z.string().min(1),
  /** Human name shown in the menu. */
  dispname: z.string().min(1),
  /** File name of the .torrent inside the payload's torrents/ folder. */
  torrent: z.string().min(1),
  /** Hex BitTorrent v1 info hash (40 chars). */
  infoHash: z.string().regex(/^[0-9a-f]{40}$/),
  /** Sum of the OS folder's file sizes in bytes (for the RAM check and progress). */
  size: z.number().int().nonnegative(),
  /** BEP 19 web seed URL for this OS (fallback when no peer makes progress). */
  webSeed: z.string().url().optional(),
  method: z.enum(['kexec', 'bin', 'qemu']),
  kexec: z
    .object({
      kernel: z.string().min(1),
      initrds: z.array(z.string().min(1)),
      cmdline: z.string(),
    })
    .optional(),
  bin: z.object({ bin: z.string().min(1), args: z.array(z.string()) }).optional(),
  qemu: z.object({ args: z.array(z.string()) }).optional(),
});

/**
 * What the server hands each booting machine in the payload initrd as /boottorrent/manifest.json.
 * The agent reads it; the .torrent files sit beside it in /boottorrent/torrents/.
 */
export const clientManifestSchema = z.object({
  version: z.literal(1),
  /** Server address the machine reaches us on, and the HTTP port of the status API and web seed. */
  server: z.object({
    address: z.string().min(1),
    httpPort: z.number().int().min(1).max(65535),
    /** The server's BitTorrent seeder port: clients connect to it at once, without waiting for the tracker. */
    seederPort: z.number().int().min(1).max(65535).optional(),
  }),
  /** Menu countdown in seconds: 0 boots the default at once, negative waits for a choice. */
  timeout: z.number().int(),
  /** Folder name of the default OS, or null to highlight the first one. */
  defaultOs: z.string().nullable(),
  /** Seconds to keep seeding after the download completes, before loading the OS. */
  seedTime: z.number().int().nonnegative(),
  /**
   * Stop seeding before `seedTime` once the server answers that no machine still needs the OS
   * (`ClientStatusAnswer.waiting` 0), and go on past it while machines do (`seedTimeMax`). Absent
   * (an older build): seed the whole `seedTime`.
   */
  seedWhileNeeded: z.boolean().optional(),
  /**
   * With `seedWhileNeeded`: seconds in all to seed when `seedTime` ends while the server still
   * answers that machines need the OS (stops once none does). Absent or ≤ `seedTime`: stop at `seedTime`.
   */
  seedTimeMax: z.number().int().nonnegative().optional(),
  /** Tracker announce URLs, ours first. */
  trackers: z.array(z.string()),
  /** Local peer discovery (BEP 14) and peer exchange (BEP 11) on the clients. */
  lsd: z.boolean(),
  pex: z.boolean(),
  oss: z.array(manifestOsSchema),
  /**
   * config.yaml's `machines:`, for a machine booted without the per-client iPXE script (pxelinux,
   * TFTP-only sites): the agent finds its entry by MAC. The script's `bt.os=`/`bt.menu=`/`bt.extra`
   * words (which also carry the API's overrides) take precedence.
   */
  machines: z
    .array(
      z.object({
        mac: z.union([z.string(), z.array(z.string())]),
        os: z.string().optional(),
        menu: z.boolean(),
        cmdline: z.string(),
      }),
    )
    .optional(),
});

export type ManifestOs = z.infer<typeof manifestOsSchema>;
export type ClientManifest = z.infer<typeof clientManifestSchema>;

/** Where each boot phase stands; the agent reports these, the server shows them. */
export const CLIENT_PHASES = [
  'dhcp',
  'loader',
  'phase1',
  'menu',
  'downloading',
  'seeding',
  'loading',
  'booted',
  'error',
] as const;
export type ClientPhase = (typeof CLIENT_PHASES)[number];

/**
 * Body of `POST /api/v1/clients/<mac>/status` (the agent → the server, best effort).
 * Byte counts are cumulative for the current OS download.
 */
export const clientStatusSchema = z.object({
  phase: z.enum(CLIENT_PHASES),
  ip: z.string().optional(),
  os: z.string().optional(),
  /** 0..1 */
  progress: z.number().min(0).max(1).optional(),
  bytesFromServer: z.number().nonnegative().optional(),
  bytesFromPeers: z.number().nonnegative().optional(),
  bytesFromWebSeed: z.number().nonnegative().optional(),
  bytesUploaded: z.number().nonnegative().optional(),
  message: z.string().optional(),
});
export type ClientStatus = z.infer<typeof clientStatusSchema>;

/**
 * The server's answer to a status report in the `seeding` phase (other phases get 204, no body):
 * how many machines it knows still need that OS — in DHCP, the boot loader, phase-1 or the menu, or
 * downloading it — besides the reporter. At 0 the agent may stop seeding (`seedWhileNeeded`).
 */
export const clientStatusAnswerSchema = z.object({ waiting: z.number().int().nonnegative() });
export type ClientStatusAnswer = z.infer<typeof clientStatusAnswerSchema>;
