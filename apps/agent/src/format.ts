/** 1536 → "1.5 KiB"; binary units, one decimal. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${Math.round(v)} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** The download progress line: percent, rate, peers, where the bytes came from. */
export function progressLine(p: {
  downloaded: number;
  total: number;
  rate: number;
  peers: number;
  fromServer: number;
  fromPeers: number;
  fromWebSeed: number;
}): string {
  const pct = p.total > 0 ? Math.floor((p.downloaded / p.total) * 100) : 100;
  const web = p.fromWebSeed > 0 ? `, web seed ${formatBytes(p.fromWebSeed)}` : '';
  return (
    `${pct}% of ${formatBytes(p.total)} at ${formatBytes(p.rate)}/s, ${p.peers} peer${p.peers === 1 ? '' : 's'}` +
    ` (server ${formatBytes(p.fromServer)}, peers ${formatBytes(p.fromPeers)}${web})`
  );
}

/** Available memory from /proc/meminfo text (MemAvailable, else MemFree), in bytes. */
export function memAvailable(meminfo: string): number | undefined {
  const m = /^MemAvailable:\s+(\d+) kB/m.exec(meminfo) ?? /^MemFree:\s+(\d+) kB/m.exec(meminfo);
  return m ? Number(m[1]) * 1024 : undefined;
}

/**
 * A message as one console line: a tool's stderr may span several lines; they are joined with "; "
 * and control characters dropped, so one failure is one line and the menu below it stays in place.
 */
export function oneLine(text: string): string {
  return (
    text
      .split(/\r?\n/)
      // eslint-disable-next-line no-control-regex -- dropping control characters is the point
      .map((l) => l.replace(/[\x00-\x1f\x7f]/g, '').trim())
      .filter(Boolean)
      .join('; ')
  );
}
