import { intToIpv4, ipv4ToInt, normalizeMac, prefixLength, sameSubnet } from './ipv4.js';
import { badCmdline, formatMacPattern, machineMacs, parseMacPattern } from './machines.js';
import type { Problem } from './problem.js';
import { PHASE1_LEVELS, type ProjectConfig } from './schema.js';

/** Where a config key sits, for the message (the caller maps keys to file positions). */
export type Locate = (key: string) => { file: string; line?: number; column?: number; explicit?: boolean };

/**
 * Semantic rules, run after the schema has accepted the file: relations between keys and with the
 * OS folders. Each broken rule is one problem; all of them are reported at once.
 */
export function checkRules(c: ProjectConfig, folders: readonly string[] | null, locate: Locate): Problem[] {
  const problems: Problem[] = [];
  const err = (key: string, message: string, hint: string) =>
    problems.push({ severity: 'error', key, message, hint, ...locate(key) });

  const names = folders ?? [];
  if (c.general.default_os !== null && folders && !names.includes(c.general.default_os)) {
    err(
      'general.default_os',
      `"${c.general.default_os}" is not a folder in oss/`,
      names.length ? `use one of: ${names.join(', ')}` : 'add that OS folder under oss/',
    );
  }

  const d = c.dhcp;
  const host = c.general.host_ip;
  const mask = d.netmask;
  const net = `${intToIpv4((ipv4ToInt(host) & ipv4ToInt(mask)) >>> 0)}/${prefixLength(mask)}`;
  if (d.enable && d.mode === 'server') {
    if (!d.range) {
      err(
        'dhcp.range',
        'is required in server mode',
        'add range: { start: a.b.c.d, end: a.b.c.e }, or set mode: proxy',
      );
    } else {
      const { start, end } = d.range;
      for (const [key, ip] of [
        ['dhcp.range.start', start],
        ['dhcp.range.end', end],
      ] as const) {
        if (!sameSubnet(ip, host, mask))
          err(key, `${ip} is outside ${net} (host_ip's subnet)`, `pick an address in ${net}`);
      }
      const s = ipv4ToInt(start);
      const e = ipv4ToInt(end);
      const h = ipv4ToInt(host);
      if (s > e) err('dhcp.range', `start ${start} is after end ${end}`, 'swap them');
      else if (h >= s && h <= e) {
        err(
          'general.host_ip',
          `${host} is inside the DHCP pool ${start}–${end}`,
          'move host_ip or the range so the pool excludes it',
        );
      }
    }
    checkSubnets(c, err);
    const macs = new Set<string>();
    d.reservations.forEach((r, i) => {
      const key = `dhcp.reservations.${i}`;
      const relayed = d.subnets.some((s) => sameSubnet(r.ip, s.router, s.netmask));
      if (!relayed && !sameSubnet(r.ip, host, mask))
        err(`${key}.ip`, `${r.ip} is outside ${net}`, `pick an address in ${net} or in one of dhcp.subnets`);
      if (r.ip === host) err(`${key}.ip`, `${r.ip} is the server's own address`, 'pick another address');
      const mac = normalizeMac(r.mac);
      if (macs.has(mac)) err(`${key}.mac`, `${r.mac} is reserved twice`, 'keep one reservation per MAC');
      macs.add(mac);
    });
  }
  if (d.enable && d.mode === 'proxy' && d.subnets.length > 0)
    err(
      'dhcp.subnets',
      'is for server mode: proxy mode gives no addresses',
      'remove it; in proxy mode the site DHCP server leases to relayed machines and this server answers them anyway',
    );
  if (d.router && !sameSubnet(d.router, host, mask)) {
    err('dhcp.router', `${d.router} is outside ${net}`, 'clients can only reach a router on their subnet');
  }

  checkMachines(c, folders, err);

  const { compression, level } = c.phase1;
  const [min, max] = PHASE1_LEVELS[compression];
  if (level !== null && (level < min || level > max)) {
    err(
      'phase1.level',
      `${level} is not a ${compression} level`,
      `use ${min} to ${max}, or null for the default`,
    );
  }

  const tcp: [string, number, boolean][] = [
    ['http.port', c.http.port, true],
    ['tracker.port', c.tracker.port, c.tracker.enable],
    ['torrent.port', c.torrent.port, true],
  ];
  const udp: [string, number, boolean][] = [
    ['tftp.port', c.tftp.port, c.tftp.enable],
    ['tracker.port', c.tracker.port, c.tracker.enable],
    ['dhcp (67)', 67, d.enable],
    ['dhcp proxy (4011)', 4011, d.enable && d.mode === 'proxy'],
    ['dhcp client (68)', 68, d.enable],
  ];
  for (const [proto, list] of [
    ['TCP', tcp],
    ['UDP', udp],
  ] as const) {
    const used = new Map<number, string>();
    for (const [key, port, on] of list) {
      if (!on) continue;
      const prev = used.get(port);
      if (prev === undefined) {
        used.set(port, key);
        continue;
      }
      // Point at the key the user wrote (the other one may be a default).
      const [here, other] = locate(key).explicit === false ? [prev, key] : [key, prev];
      err(here, `${proto} port ${port} is also used by ${other}`, 'give each service its own port');
    }
  }
  return problems;
}

/**
 * `machines:`: every MAC or pattern valid and listed once (an exact MAC inside a pattern is an
 * exception to it, not a clash), every `os` a folder in oss/, every `cmdline` safe for a boot script.
 */
function checkMachines(
  c: ProjectConfig,
  folders: readonly string[] | null,
  err: (key: string, message: string, hint: string) => void,
): void {
  const seen = new Map<string, string>();
  c.machines.forEach((m, i) => {
    const key = `machines.${i}`;
    const list = Array.isArray(m.mac);
    machineMacs(m).forEach((text, j) => {
      const at = list ? `${key}.mac.${j}` : `${key}.mac`;
      const p = parseMacPattern(text);
      if (!p) {
        err(
          at,
          `"${text}" is not a MAC address or pattern`,
          'write aa:bb:cc:dd:ee:ff, or a prefix of whole octets such as aa:bb:cc:*',
        );
        return;
      }
      const norm = formatMacPattern(p);
      const prev = seen.get(norm);
      if (prev !== undefined)
        err(at, `${norm} is also listed at ${prev}`, 'list each MAC or pattern in one entry only');
      else seen.set(norm, at);
    });
    if (m.os !== undefined && folders && !folders.includes(m.os)) {
      err(
        `${key}.os`,
        `"${m.os}" is not a folder in oss/`,
        folders.length ? `use one of: ${folders.join(', ')}` : 'add that OS folder under oss/',
      );
    }
    const bad = badCmdline(m.cmdline);
    if (bad)
      err(`${key}.cmdline`, bad, 'write the extra kernel parameters as plain words, e.g. quiet nomodeset');
  });
}

/**
 * `dhcp.subnets:` (relayed subnets): each one's subnet is its router's address with its netmask;
 * the range lies in it and excludes the router; no subnet overlaps host_ip's or another.
 */
function checkSubnets(c: ProjectConfig, err: (key: string, message: string, hint: string) => void): void {
  const host = c.general.host_ip;
  const cidrOf = (ip: string, mask: string) =>
    `${intToIpv4((ipv4ToInt(ip) & ipv4ToInt(mask)) >>> 0)}/${prefixLength(mask)}`;
  const overlaps = (a: string, am: string, b: string, bm: string) =>
    sameSubnet(a, b, am) || sameSubnet(a, b, bm);
  const seen: { key: string; router: string; netmask: string }[] = [];
  c.dhcp.subnets.forEach((s, i) => {
    const key = `dhcp.subnets.${i}`;
    const net = cidrOf(s.router, s.netmask);
    for (const [k, ip] of [
      [`${key}.range.start`, s.range.start],
      [`${key}.range.end`, s.range.end],
    ] as const) {
      if (!sameSubnet(ip, s.router, s.netmask))
        err(k, `${ip} is outside ${net} (this subnet: router with netmask)`, `pick an address in ${net}`);
    }
    const [a, b, r] = [s.range.start, s.range.end, s.router].map(ipv4ToInt) as [number, number, number];
    if (a > b) err(`${key}.range`, `start ${s.range.start} is after end ${s.range.end}`, 'swap them');
    else if (r >= a && r <= b)
      err(
        `${key}.router`,
        `${s.router} is inside the pool ${s.range.start}–${s.range.end}`,
        'move the range so it excludes the router',
      );
    if (overlaps(s.router, s.netmask, host, c.dhcp.netmask))
      err(
        `${key}.router`,
        `${net} overlaps host_ip's subnet ${cidrOf(host, c.dhcp.netmask)}`,
        "machines on the server's own network are not relayed: list only subnets behind a relay",
      );
    const clash = seen.find((o) => overlaps(s.router, s.netmask, o.router, o.netmask));
    if (clash) err(`${key}.router`, `${net} overlaps ${clash.key}`, 'give each relayed subnet one entry');
    seen.push({ key, router: s.router, netmask: s.netmask });
  });
}
