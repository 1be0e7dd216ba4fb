import { z } from 'zod';
import type { Problem } from './problem.js';

/**
 * The original project's `Boottorrent.yaml` (sections boottorrent, dnsmasq, opentracker/hefur,
 * transmission, aria2), mapped onto today's config.yaml model so old project folders load unchanged.
 */
const legacySection = <T extends z.core.$ZodLooseShape>(shape: T) => z.strictObject(shape).optional();

export const legacyConfigSchema = z.strictObject({
  boottorrent: z.strictObject({
    version: z.number().int().optional(),
    display_oss: z.array(z.string()).nullable().optional(),
    timeout: z.number().int().optional(),
    default_os: z.string().nullable().optional(),
    seed_time: z.number().int().optional(),
    host_ip: z.string(),
  }),
  dnsmasq: legacySection({
    enable_dhcp: z.boolean().optional(),
    user: z.string().optional(),
    interface: z.string().optional(),
    bind_interfaces: z.boolean().optional(),
    dhcp_range: z.string().optional(),
    enable_tftp: z.boolean().optional(),
  }),
  opentracker: legacySection({ enable: z.boolean().optional(), port: z.number().int().optional() }),
  hefur: legacySection({ enable: z.boolean().optional(), port: z.number().int().optional() }),
  transmission: legacySection({
    rpc_port: z.number().int().optional(),
    dht_enabled: z.boolean().optional(),
    lpd_enabled: z.boolean().optional(),
  }),
  aria2: legacySection({
    bt_enable_lpd: z.boolean().optional(),
    enable_dht: z.boolean().optional(),
    check_integrity: z.boolean().optional(),
    enable_peer_exchange: z.boolean().optional(),
    console_log_level: z.string().optional(),
  }),
});
type LegacyConfig = z.infer<typeof legacyConfigSchema>;

/** New key path → the legacy key path it came from (to point errors at the right line). */
export type PathMap = Map<string, string[]>;

export interface MappedLegacy {
  config: Record<string, Record<string, unknown>>;
  paths: PathMap;
  problems: Problem[];
}

const DURATION = /^(\d+)([smhdw]?)$/;
const UNIT: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

export function mapLegacy(
  file: string,
  legacy: LegacyConfig,
  locate: (p: string[]) => Problem['line'][],
): MappedLegacy {
  const problems: Problem[] = [];
  const paths: PathMap = new Map();
  const config: Record<string, Record<string, unknown>> = {
    general: {},
    dhcp: {},
    tftp: {},
    http: {},
    tracker: {},
    torrent: {},
  };
  const set = (to: string, from: string[], value: unknown) => {
    if (value === undefined) return;
    const [section, key] = to.split('.') as [string, string];
    config[section]![key] = value;
    paths.set(to, from);
  };
  const b = legacy.boottorrent;
  set('general.timeout', ['boottorrent', 'timeout'], b.timeout);
  set('general.default_os', ['boottorrent', 'default_os'], b.default_os);
  set(
    'general.seed_time',
    ['boottorrent', 'seed_time'],
    b.seed_time === undefined ? undefined : Math.max(0, b.seed_time),
  );
  set('general.host_ip', ['boottorrent', 'host_ip'], b.host_ip);

  const d = legacy.dnsmasq ?? {};
  set('dhcp.enable', ['dnsmasq', 'enable_dhcp'], d.enable_dhcp);
  set('dhcp.interface', ['dnsmasq', 'interface'], d.interface);
  set('tftp.enable', ['dnsmasq', 'enable_tftp'], d.enable_tftp);
  if (d.dhcp_range !== undefined) {
    const parts = d.dhcp_range.split(',').map((s) => s.trim());
    const [start, end] = parts;
    const lease = parts.length >= 3 ? parts[parts.length - 1] : undefined;
    const mask = parts.length === 4 ? parts[2] : undefined;
    const [line, column] = locate(['dnsmasq', 'dhcp_range']);
    const bad = (message: string) =>
      problems.push({
        severity: 'error',
        file,
        line,
        column,
        key: 'dnsmasq.dhcp_range',
        message,
        hint: 'write "start,end[,netmask],leasetime", e.g. "192.168.1.50,192.168.1.150,12h"',
      });
    if (!start || !end) bad(`"${d.dhcp_range}" has no start and end address`);
    else set('dhcp.range', ['dnsmasq', 'dhcp_range'], { start, end });
    if (mask) set('dhcp.netmask', ['dnsmasq', 'dhcp_range'], mask);
    if (lease !== undefined) {
      const m = DURATION.exec(lease);
      if (!m) bad(`lease time "${lease}" is not a duration`);
      else set('dhcp.lease_time', ['dnsmasq', 'dhcp_range'], Number(m[1]) * UNIT[m[2]!]!);
    }
  }
  const tracker = legacy.opentracker ?? legacy.hefur;
  const trackerKey = legacy.opentracker ? 'opentracker' : 'hefur';
  set('tracker.enable', [trackerKey, 'enable'], tracker?.enable);
  set('tracker.port', [trackerKey, 'port'], tracker?.port);
  const a = legacy.aria2 ?? {};
  set('torrent.lsd', ['aria2', 'bt_enable_lpd'], a.bt_enable_lpd ?? legacy.transmission?.lpd_enabled);
  set('torrent.pex', ['aria2', 'enable_peer_exchange'], a.enable_peer_exchange);
  return { config, paths, problems };
}

/** The one notice shown when a project still uses Boottorrent.yaml. */
export const LEGACY_NOTICE =
  'read the original project format; in config.yaml these are general.{timeout,default_os,seed_time,host_ip}, ' +
  'dhcp.{enable,interface,range,lease_time}, tftp.enable, tracker.{enable,port}, torrent.{lsd,pex} ' +
  '(dnsmasq.user, dnsmasq.bind_interfaces, transmission.*, aria2.enable_dht/check_integrity/console_log_level ' +
  'are not needed: we bind to the interface, never use DHT and always verify pieces)';
