import { createHash } from 'node:crypto';
import { DASHBOARD_SCRIPT } from './dashboard-script.js';
// The page's script formats bytes the same way in the browser.
import { formatBytes } from './format.js';
import type { ClientRow, OsRow } from './monitor.js';
import type { Snapshot } from './sse.js';

/**
 * The page's Content-Security-Policy: only the inline script whose hash this is may run, it may talk
 * only to this server, and nothing may frame the page. Should a value ever slip through unescaped,
 * it still cannot run.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  `script-src 'sha256-${createHash('sha256').update(DASHBOARD_SCRIPT).digest('base64')}'`,
  "style-src 'unsafe-inline'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

/** Text made safe for HTML content and quoted attribute values. */
export function escapeHtml(s: unknown): string {
  return String(s).replace(
    /[&<>"'`]/g,
    (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' })[ch]!,
  );
}

const td = (v: unknown, cls = '') => `<td${cls ? ` class="${cls}"` : ''}>${escapeHtml(v)}</td>`;

function clientRow(c: ClientRow, log: Snapshot['logs'][string] | undefined): string {
  const pct = typeof c.progress === 'number' ? Math.round(c.progress * 100) : null;
  const progress =
    pct === null
      ? td(c.phase === 'booted' ? '100%' : '-', 'num')
      : `<td class="num"><span class="bar"><span style="width:${pct}%"></span></span> ${pct}%</td>`;
  const row =
    `<tr class="phase-${escapeHtml(c.phase)}" data-mac="${escapeHtml(c.mac)}">` +
    td(c.mac, 'mono') +
    td(c.ip ?? '-', 'mono') +
    td(c.firmware ?? '-') +
    td(c.phase, 'phase') +
    td(c.os ?? '-') +
    progress +
    td(c.phase === 'downloading' && c.rate ? `${formatBytes(Math.round(c.rate))}/s` : '-', 'num') +
    td(formatBytes(c.bytesFromServer), 'num') +
    td(formatBytes(c.bytesFromPeers), 'num') +
    td(formatBytes(c.bytesFromWebSeed), 'num') +
    td(c.runtimeSource ?? '-') +
    td(planText(c), 'act') +
    '</tr>';
  const lines = log ?? [];
  const detail = c.phase === 'error' && (c.message || lines.length);
  return (
    row +
    `<tr class="detail"${detail ? '' : ' hidden'}><td colspan="12">` +
    (detail && c.message ? `<div class="msg">${escapeHtml(c.message)}</div>` : '') +
    (detail && lines.length ? `<pre>${escapeHtml(lines.map((l) => l.text).join('\n'))}</pre>` : '') +
    '</td></tr>'
  );
}

/** The machine's next boot in words, for the static table (the script puts controls there). */
function planText(c: ClientRow): string {
  const p = c.machine;
  if (!p) return 'menu';
  return `${p.os ?? 'default OS'}${p.menu ? ' (menu)' : ', no menu'}${p.cmdline ? ` + ${p.cmdline}` : ''}`;
}

function osRow(o: OsRow): string {
  return (
    '<tr>' +
    td(o.dispname) +
    td(o.name, 'mono') +
    td(formatBytes(o.size), 'num') +
    td(`${o.pieces} × ${formatBytes(o.pieceLength)}`, 'num') +
    td(o.seeders, 'num') +
    td(o.leechers, 'num') +
    td(o.completed, 'num') +
    td(formatBytes(o.uploaded), 'num') +
    '</tr>'
  );
}

/**
 * The dashboard at `/`: the whole state rendered on the server, so it reads as a static table with
 * JavaScript off; the inline script then keeps it live from `/api/v1/events`. Every value a machine
 * or the config supplies is escaped.
 */
export function renderDashboard(s: Snapshot, title: string): string {
  const sum = s.summary;
  const all = sum.fromServer + sum.fromPeers + sum.fromWebSeed;
  const rows = s.clients.length
    ? s.clients.map((c) => clientRow(c, s.logs[c.mac])).join('\n')
    : '<tr id="empty"><td colspan="12">No machine seen yet: power one on.</td></tr>';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>BootTorrent · ${escapeHtml(title)}</title>
<style>${STYLE}</style></head>
<body>
<header><h1>BootTorrent</h1><span class="where">${escapeHtml(title)}</span>
<span id="live" class="off">static</span></header>
<section class="cards">
<div><b id="n-clients">${sum.clients}</b><span>machines</span></div>
<div><b id="from-server">${formatBytes(sum.fromServer + sum.fromWebSeed)}</b><span>from the server</span></div>
<div><b id="from-peers">${formatBytes(sum.fromPeers)}</b><span>from peers</span></div>
<div><b id="share">${all ? `${Math.round(sum.serverShare * 100)}%` : '-'}</b><span>server share</span></div>
<div><b id="upload">${formatBytes(Math.round(sum.uploadRate))}/s</b><span>server upload</span></div>
<div><b id="uploaded">${formatBytes(sum.uploaded.seeder + sum.uploaded.webSeed)}</b><span>uploaded in all</span></div>
</section>
<h2>Machines</h2>
<div class="scroll"><table id="clients"><thead><tr><th>MAC</th><th>IP</th><th>Firmware</th><th>Phase</th><th>OS</th>
<th>Progress</th><th>Rate</th><th>From server</th><th>From peers</th><th>Web seed</th><th>Phase-1 from</th>
<th>Next boot</th></tr></thead>
<tbody>
${rows}
</tbody></table></div>
<h2>Operating systems</h2>
<div class="scroll"><table id="oss"><thead><tr><th>OS</th><th>Folder</th><th>Size</th><th>Pieces</th><th>Seeders</th>
<th>Leechers</th><th>Completed</th><th>Seeder sent</th></tr></thead>
<tbody>
${sum.oss.map(osRow).join('\n')}
</tbody></table></div>
<footer>
<form id="token-form"><label>Admin token <input id="token" type="password" autocomplete="off"
 placeholder="paste the token from the project once"></label> <button>Save</button>
<button type="button" id="reload" title="load the project folder again (what SIGHUP does)">Reload project</button>
<span id="action-note"></span></form>
<noscript><p>JavaScript is off: this is a snapshot; reload for fresh numbers. Actions need JavaScript.</p></noscript>
<p class="links"><a href="/metrics">metrics</a> · <a href="/api/v1/clients">clients JSON</a></p>
</footer>
<script>${DASHBOARD_SCRIPT}</script>
</body></html>
`;
}

const STYLE = `
:root{--bg:#f6f7f9;--fg:#1d2433;--mut:#6b7385;--line:#e2e5eb;--card:#fff;--acc:#2f6fde;--ok:#1f8a4c;--bad:#c0392b;--warn:#b7791f}
*{box-sizing:border-box}body{margin:0;padding:20px 28px;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
header{display:flex;align-items:baseline;gap:14px}h1{margin:0;font-size:22px}.where{color:var(--mut)}
#live{margin-left:auto;font-size:12px;padding:2px 10px;border-radius:10px;background:#e8eaef;color:var(--mut)}
#live.on{background:#dff3e6;color:var(--ok)}#live.on::before{content:"● "}
h2{font-size:15px;margin:26px 0 8px;color:#39414f}
.cards{display:grid;grid-template-columns:repeat(6,minmax(120px,1fr));gap:12px;margin-top:16px}
.cards div{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px 14px}
.cards b{display:block;font-size:20px;font-weight:600}.cards span{color:var(--mut);font-size:12px}
table{width:100%;border-collapse:collapse;background:var(--card);border:1px solid var(--line);border-radius:8px;overflow:hidden}
th,td{padding:7px 9px;text-align:left;border-bottom:1px solid var(--line);white-space:nowrap}
th{font-size:12px;font-weight:600;color:var(--mut);background:#fafbfc}
.num{text-align:right;font-variant-numeric:tabular-nums}.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px}
.phase{font-weight:600}.phase-booted .phase{color:var(--ok)}.phase-error .phase{color:var(--bad)}
.phase-downloading .phase,.phase-seeding .phase{color:var(--acc)}.phase-error{background:#fdf1f0}
.bar{display:inline-block;width:70px;height:7px;background:#e6e9ef;border-radius:4px;vertical-align:middle;overflow:hidden}
.bar span{display:block;height:100%;background:var(--acc)}.phase-booted .bar span{background:var(--ok)}
tr.detail td{background:#fffaf0;white-space:normal}.msg{color:var(--bad);font-weight:600;margin-bottom:4px}
pre{margin:0;max-height:14em;overflow:auto;font:12px/1.4 ui-monospace,Menlo,Consolas,monospace;white-space:pre-wrap;color:#333}
tr[data-mac]{cursor:pointer}.act{cursor:default}.act select,.act button{font:inherit;font-size:12px}.act select{width:110px}.scroll{overflow-x:auto;border-radius:8px}.act label{font-size:12px;margin:0 6px;color:var(--mut)}
footer{margin-top:22px;color:var(--mut)}footer input{width:280px;font:inherit}#action-note.ok{color:var(--ok)}#action-note.bad{color:var(--bad)}
.links a{color:var(--acc)}
`;
