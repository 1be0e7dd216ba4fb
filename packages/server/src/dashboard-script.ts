/**
 * The dashboard's script, inline in the page (its SHA-256 goes into the Content-Security-Policy, so
 * no other script runs). It listens to `/api/v1/events` and redraws the rows it is told about; every
 * value goes through textContent, never HTML. The token for `PUT /api/v1/machines/:mac` is pasted
 * once and kept in localStorage.
 */
export const DASHBOARD_SCRIPT = String.raw`(() => {
'use strict';
const $ = (s) => document.querySelector(s);
const body = $('#clients tbody'), osBody = $('#oss tbody'), live = $('#live'), note = $('#action-note');
const rows = new Map(), logs = new Map();
let oss = [];
const B = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
const bytes = (n) => { let i = 0; while (n >= 1024 && i < B.length - 1) { n /= 1024; i++; } return (i ? n.toFixed(1) : String(n)) + ' ' + B[i]; };
const cell = (text, cls) => { const td = document.createElement('td'); td.textContent = text; if (cls) td.className = cls; return td; };
const phase1 = (c) => c.runtimeSource || '-';
function progress(c) {
  const td = cell('', 'num');
  if (typeof c.progress !== 'number') { td.textContent = c.phase === 'booted' ? '100%' : '-'; return td; }
  const bar = document.createElement('span'); bar.className = 'bar';
  const fill = document.createElement('span'); fill.style.width = Math.round(c.progress * 100) + '%';
  bar.append(fill); td.append(bar, ' ' + Math.round(c.progress * 100) + '%');
  return td;
}
function actions(c) {
  const td = cell('', 'act');
  const sel = document.createElement('select');
  sel.title = 'next OS for ' + c.mac;
  sel.append(new Option('menu', ''));
  for (const o of oss) sel.append(new Option(o.dispname || o.name, o.name));
  const skip = document.createElement('input'); skip.type = 'checkbox'; skip.title = 'boot without the menu';
  const lbl = document.createElement('label'); lbl.append(skip, ' no menu');
  const btn = document.createElement('button'); btn.textContent = 'Set'; btn.type = 'button';
  btn.addEventListener('click', () => setMachine(c.mac, sel.value, skip.checked));
  const wake = document.createElement('button'); wake.textContent = 'Wake'; wake.type = 'button'; wake.className = 'wake';
  wake.title = 'send a Wake-on-LAN packet to ' + c.mac;
  wake.addEventListener('click', () => wakeMachine(c.mac));
  td.append(sel, lbl, btn, ' ', wake);
  td.sel = sel; td.skip = skip;
  return td;
}
// The machine's plan (config.yaml's machines: and the API's override) comes with its row; the
// controls follow it only when it changed, so a choice being made is not reset by a progress report.
function applyPlan(r, c) {
  const key = JSON.stringify(c.machine || null);
  if (key === r.plan) return;
  r.plan = key;
  const p = c.machine || { os: null, menu: true };
  r.act.sel.value = p.os || ''; r.act.skip.checked = p.menu === false;
}
function render(c) {
  let r = rows.get(c.mac);
  if (!r) {
    r = { tr: document.createElement('tr'), detail: document.createElement('tr'), act: null };
    r.tr.dataset.mac = c.mac; r.detail.className = 'detail';
    const macs = [...rows.keys(), c.mac].sort(); const next = macs[macs.indexOf(c.mac) + 1];
    const before = next ? rows.get(next).tr : null;
    body.insertBefore(r.tr, before); body.insertBefore(r.detail, before);
    rows.set(c.mac, r);
    $('#empty') && $('#empty').remove();
  }
  r.tr.className = 'phase-' + c.phase;
  const dl = c.phase === 'downloading';
  const cells = [cell(c.mac, 'mono'), cell(c.ip || '-', 'mono'), cell(c.firmware || '-'), cell(c.phase, 'phase'),
    cell(c.os || '-'), progress(c), cell(dl && c.rate ? bytes(Math.round(c.rate)) + '/s' : '-', 'num'),
    cell(bytes(c.bytesFromServer), 'num'), cell(bytes(c.bytesFromPeers), 'num'), cell(bytes(c.bytesFromWebSeed), 'num'),
    cell(phase1(c))];
  if (!r.act) r.act = actions(c);
  r.tr.replaceChildren(...cells, r.act);
  applyPlan(r, c);
  r.client = c;
  detail(c.mac);
}
function detail(mac) {
  const r = rows.get(mac); if (!r) return;
  const c = r.client, lines = logs.get(mac) || [];
  const show = c.phase === 'error' || r.open;
  r.detail.hidden = !(show && (c.message || lines.length));
  if (r.detail.hidden) return;
  const td = document.createElement('td'); td.colSpan = 12;
  if (c.message) { const m = document.createElement('div'); m.className = 'msg'; m.textContent = c.message; td.append(m); }
  if (lines.length) { const pre = document.createElement('pre'); pre.textContent = lines.map((l) => l.text).join('\n'); td.append(pre); }
  r.detail.replaceChildren(td);
}
function summary(s) {
  $('#n-clients').textContent = s.clients;
  $('#from-server').textContent = bytes(s.fromServer + s.fromWebSeed);
  $('#from-peers').textContent = bytes(s.fromPeers);
  $('#share').textContent = s.fromServer + s.fromPeers + s.fromWebSeed ? Math.round(s.serverShare * 100) + '%' : '-';
  $('#upload').textContent = bytes(Math.round(s.uploadRate)) + '/s';
  $('#uploaded').textContent = bytes(s.uploaded.seeder + s.uploaded.webSeed);
  oss = s.oss;
  osBody.replaceChildren(...s.oss.map((o) => { const tr = document.createElement('tr');
    tr.append(cell(o.dispname || o.name), cell(o.name, 'mono'), cell(bytes(o.size), 'num'), cell(o.pieces + ' × ' + bytes(o.pieceLength), 'num'),
      cell(String(o.seeders), 'num'), cell(String(o.leechers), 'num'), cell(String(o.completed), 'num'), cell(bytes(o.uploaded), 'num'));
    return tr; }));
}
function addLog(mac, lines) {
  const l = (logs.get(mac) || []).concat(lines).slice(-20); logs.set(mac, l); detail(mac);
}
body.addEventListener('click', (e) => {
  const tr = e.target.closest('tr'); if (!tr || !tr.dataset.mac || e.target.closest('.act')) return;
  const r = rows.get(tr.dataset.mac); r.open = !r.open; detail(tr.dataset.mac);
});
const es = new EventSource('/api/v1/events');
es.addEventListener('snapshot', (e) => {
  const s = JSON.parse(e.data);
  summary(s.summary);
  body.replaceChildren(); rows.clear(); logs.clear();
  for (const [mac, l] of Object.entries(s.logs)) logs.set(mac, l);
  for (const c of s.clients) render(c);
  if (!s.clients.length) { const tr = document.createElement('tr'); tr.id = 'empty'; const td = cell('No machine seen yet: power one on.'); td.colSpan = 12; tr.append(td); body.append(tr); }
  document.body.dataset.live = 'snapshot';
});
es.addEventListener('client', (e) => { render(JSON.parse(e.data)); document.body.dataset.updates = String(+(document.body.dataset.updates || 0) + 1); });
es.addEventListener('log', (e) => { const d = JSON.parse(e.data); addLog(d.mac, d.lines); });
es.addEventListener('summary', (e) => summary(JSON.parse(e.data)));
es.onopen = () => { live.textContent = 'live'; live.className = 'on'; };
es.onerror = () => { live.textContent = 'reconnecting…'; live.className = 'off'; };
const tokenInput = $('#token');
tokenInput.value = localStorage.getItem('boottorrent.token') || '';
$('#token-form').addEventListener('submit', (e) => {
  e.preventDefault(); localStorage.setItem('boottorrent.token', tokenInput.value.trim());
  note.textContent = tokenInput.value.trim() ? 'token saved in this browser' : 'token cleared'; note.className = '';
});
// POSTs with the saved token; the note shows ok(answer) on success, else the server's status and first line.
async function post(path, what, ok) {
  const token = localStorage.getItem('boottorrent.token') || '';
  note.className = ''; note.textContent = what + ': sending…';
  try {
    const res = await fetch(path, { method: 'POST', headers: { authorization: 'Bearer ' + token } });
    const text = (await res.text()).trim();
    note.className = res.ok ? 'ok' : 'bad';
    note.textContent = res.ok ? ok(text) : res.status + ' ' + (text.split('\n')[0] || res.statusText);
  } catch (err) { note.className = 'bad'; note.textContent = what + ': ' + err.message; }
}
function wakeMachine(mac) {
  return post('/api/v1/machines/' + encodeURIComponent(mac) + '/wake', mac, (text) => {
    let to = ''; try { const s = JSON.parse(text); to = ' (' + s.to + ':' + s.port + ')'; } catch { /* plain answer */ }
    return mac + ': wake-on-LAN sent' + to;
  });
}
$('#reload').addEventListener('click', () => post('/api/v1/reload', 'reload', (text) => text.split('\n')[0]));
async function setMachine(mac, os, skipMenu) {
  const token = localStorage.getItem('boottorrent.token') || '';
  note.className = ''; note.textContent = mac + ': sending…';
  try {
    const res = await fetch('/api/v1/machines/' + encodeURIComponent(mac), {
      method: 'PUT', headers: { 'content-type': 'application/json', authorization: 'Bearer ' + token },
      body: JSON.stringify({ os: os || null, menu: !skipMenu }),
    });
    const text = (await res.text()).trim().split('\n')[0];
    note.className = res.ok ? 'ok' : 'bad';
    note.textContent = res.ok ? mac + ': next boot ' + (os || 'menu') + (skipMenu ? ', no menu' : '') : res.status + ' ' + (text || res.statusText);
  } catch (err) { note.className = 'bad'; note.textContent = mac + ': ' + err.message; }
}
})();`;
