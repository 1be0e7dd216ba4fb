import { execFile, spawn } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { API_TOKEN_FILE } from '@boottorrent/config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerEvent } from '../../src/index.js';
import { decodePng, launchChromium, type Browser } from './_browser.js';
import { call, startRoom } from './_room.js';

/**
 * The operator's side of a running boot server, in-process on loopback: /metrics checked by
 * promtool, the agents' log route, the status gate, and the dashboard loaded in Debian's headless
 * chromium, which must show a status POSTed after it loaded (over the event stream) and is
 * screenshotted. Each test posts from its own 127.0.0.x address, so rate limits do not mix.
 */
const run = promisify(execFile);
/** promtool from Debian's prometheus package, unpacked (not installed: that would start a server) by tools/setup.sh. */
const PROMTOOL = fileURLToPath(
  new URL('../../../../.cache/deb/prometheus/usr/bin/promtool', import.meta.url),
);
let room: Awaited<ReturnType<typeof startRoom>>;
/** Where the dashboard screenshot is kept after the run, to look at. */
export const SCREENSHOT = join(tmpdir(), 'boottorrent-dashboard.png');

beforeAll(async () => {
  room = await startRoom('ops');
}, 600_000);
afterAll(() => room?.close());

const status = (mac: string, body: object, from: string) =>
  call(room.base, 'POST', `/api/v1/clients/${mac}/status`, { body: JSON.stringify(body), from });

/** `promtool check metrics` on `text`: its exit code and output. */
function promtool(text: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(PROMTOOL, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    p.stdout.on('data', (d: Buffer) => (output += d.toString()));
    p.stderr.on('data', (d: Buffer) => (output += d.toString()));
    p.on('error', (e) =>
      reject(
        new Error(
          `promtool: ${e.message} (run tools/setup.sh: it unpacks Debian's prometheus under .cache/deb)`,
        ),
      ),
    );
    p.on('close', (code) => resolve({ code: code ?? -1, output }));
    p.stdin.end(text);
  });
}

/** Samples of the text format as `name{labels}` → value. */
function samples(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    m.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return m;
}

/** Resolves with the first server event `pred` accepts from now on. */
function nextEvent<T extends ServerEvent>(pred: (e: ServerEvent) => e is T): Promise<T>;
function nextEvent(pred: (e: ServerEvent) => boolean): Promise<ServerEvent>;
function nextEvent(pred: (e: ServerEvent) => boolean): Promise<ServerEvent> {
  return new Promise((resolve) => {
    const l = (e: ServerEvent) => {
      if (!pred(e)) return;
      room.server.off('event', l);
      resolve(e);
    };
    room.server.on('event', l);
  });
}

describe('/metrics', () => {
  it('passes promtool check metrics and counts real HTTP, TFTP and tracker traffic', async () => {
    const before = samples((await call(room.base, 'GET', '/metrics')).text);
    const kernel = room.server.out.phase1.kernel;
    const kernelName = kernel.split('/').pop()!;
    const served = nextEvent((e) => e.type === 'http' && e.path === `/phase1/${kernelName}`);
    await run('curl', ['-sS', '-f', '-o', '/dev/null', `${room.base}/phase1/${kernelName}`]);
    await served;
    const tftpDone = nextEvent((e) => e.type === 'tftp' && e.kind === 'end');
    await run('tftp', [
      '127.0.0.1',
      String(room.server.ports.tftp),
      '-m',
      'binary',
      '-c',
      'get',
      'undionly.kpxe',
      join(room.dir, 'u.kpxe'),
    ]);
    await tftpDone;
    const t = room.server.out.torrents[0]!;
    const hashQuery = [...Buffer.from(t.infoHash, 'hex')]
      .map((b) => `%${b.toString(16).padStart(2, '0')}`)
      .join('');
    await run('curl', [
      '-sS',
      '-f',
      '-o',
      '/dev/null',
      `http://127.0.0.1:${room.server.ports.tracker}/announce?info_hash=${hashQuery}&peer_id=-BT0001-metricstest1&port=7000&uploaded=0&downloaded=0&left=100&compact=1&event=started`,
    ]);

    const res = await call(room.base, 'GET', '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    const checked = await promtool(res.text);
    expect(checked, checked.output).toEqual({ code: 0, output: '' });

    const after = samples(res.text);
    const delta = (k: string) => (after.get(k) ?? 0) - (before.get(k) ?? 0);
    expect(delta('boottorrent_phase1_sent_bytes_total{via="http",part="loader"}')).toBe(
      (await stat(kernel)).size,
    );
    expect(delta('boottorrent_tftp_transfers_total{result="completed"}')).toBe(1);
    expect(delta('boottorrent_tftp_sent_bytes_total')).toBe((await stat('/usr/lib/ipxe/undionly.kpxe')).size);
    expect(delta('boottorrent_tracker_announces_total')).toBeGreaterThanOrEqual(1);
    expect(delta('boottorrent_http_requests_total{route="phase1",method="GET",code="200"}')).toBe(1);
    expect(after.get(`boottorrent_swarm_peers{os="${t.os.name}",role="leecher"}`)).toBeGreaterThanOrEqual(1);
    for (const phase of ['dhcp', 'downloading', 'booted', 'error'])
      expect(after.has(`boottorrent_clients{phase="${phase}"}`), phase).toBe(true);
  });

  it('promtool, the judge, rejects a malformed exposition', async () => {
    const bad = await promtool('# TYPE x counter\nx{a=b} 1\n');
    expect(bad.code).not.toBe(0);
  });
});

describe('client logs', () => {
  const mac = '52:54:00:00:10:01';
  const from = '127.0.0.11';

  it('keeps the lines an agent posts and returns them, cleaned, on GET', async () => {
    const lines = [
      'Booting Demo',
      '\x1b[31mno space left\x1b[0m',
      'boottorrent: could not boot Demo: ENOSPC',
    ];
    const r = await call(room.base, 'POST', `/api/v1/clients/${mac}/log`, {
      body: JSON.stringify({ lines }),
      from,
    });
    expect(r.status).toBe(204);
    const got = await call(room.base, 'GET', `/api/v1/clients/${mac.toUpperCase()}/log`);
    expect(got.status).toBe(200);
    const body = JSON.parse(got.text) as { mac: string; dropped: number; lines: { text: string }[] };
    expect(body.mac).toBe(mac);
    expect(body.lines.map((l) => l.text)).toEqual(['Booting Demo', 'no space left', lines[2]]);
  });

  it('answers bad input with a 4xx and one line', async () => {
    const post = (body: string, m = mac) =>
      call(room.base, 'POST', `/api/v1/clients/${m}/log`, { body, from });
    const cases: [Promise<{ status: number; text: string }>, number, RegExp][] = [
      [post('{"lines":'), 400, /^log body is not JSON\n$/],
      [post('{"lines":"x"}'), 400, /^log lines must be an array/],
      [post(JSON.stringify({ lines: Array(101).fill('x') })), 400, /at most 100/],
      [post(JSON.stringify({ lines: ['x'.repeat(20_000)] })), 413, /^log body over 16384 bytes\n$/],
      [post('{"lines":[]}', 'nonsense'), 400, /^bad MAC "nonsense"/],
      [
        call(room.base, 'GET', '/api/v1/clients/52:54:00:99:99:99/log'),
        404,
        /^no client 52:54:00:99:99:99 seen yet\n$/,
      ],
    ];
    for (const [p, code, line] of cases) {
      const r = await p;
      expect(r.status, r.text).toBe(code);
      expect(r.text).toMatch(line);
      expect(r.text.trimEnd().includes('\n')).toBe(false);
    }
  });
});

describe('status POST gate', () => {
  it('rate-limits each source address, and another source is not affected', async () => {
    const mac = '52:54:00:00:20:01';
    const answers = await Promise.all(
      Array.from({ length: 100 }, () => status(mac, { phase: 'menu' }, '127.0.0.21')),
    );
    const limited = answers.filter((a) => a.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(limited[0]!.text).toBe('too many reports from 127.0.0.21: at most 5 per second\n');
    expect(answers.every((a) => a.status === 204 || a.status === 429)).toBe(true);
    expect((await status(mac, { phase: 'menu' }, '127.0.0.22')).status).toBe(204);
    const m = samples((await call(room.base, 'GET', '/metrics')).text);
    expect(m.get('boottorrent_reports_refused_total{reason="rate"}')).toBeGreaterThanOrEqual(limited.length);
  });

  it('without a DHCP lease table (DHCP off), accepts a report for any MAC and records the source address', async () => {
    const r = await status('52:54:00:00:20:02', { phase: 'menu', ip: '10.9.9.9' }, '127.0.0.23');
    expect(r.status).toBe(204);
    expect(room.server.clients.get('52:54:00:00:20:02')?.ip).toBe('127.0.0.23');
  });
});

describe('dashboard', () => {
  let browser: Browser;
  const evil = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>';
  const failed = '52:54:00:00:30:01';
  const late = '52:54:00:00:30:02';

  beforeAll(async () => {
    expect((await status(failed, { phase: 'error', os: 'hello', message: evil }, '127.0.0.31')).status).toBe(
      204,
    );
    const log = { lines: ['Booting Hello', `boottorrent: could not boot Hello: ${evil}`] };
    const r = await call(room.base, 'POST', `/api/v1/clients/${failed}/log`, {
      body: JSON.stringify(log),
      from: '127.0.0.31',
    });
    expect(r.status).toBe(204);
    browser = await launchChromium({ width: 1400, height: 900 });
  }, 120_000);
  afterAll(() => browser?.close());

  it('serves the whole state as a static table with every value escaped and a strict CSP', async () => {
    const r = await call(room.base, 'GET', '/');
    expect(r.status).toBe(200);
    expect(r.headers['content-security-policy']).toMatch(/script-src 'sha256-[A-Za-z0-9+/]+=*'/);
    expect(r.text).toContain(`data-mac="${failed}"`);
    expect(r.text).toContain('&lt;img src=x onerror=&quot;window.pwned=1&quot;&gt;');
    expect(r.text).not.toContain('<img');
    expect(r.text.match(/<script>/g)).toHaveLength(1); // ours only
  });

  it('loads in chromium, shows a status posted after load over the event stream, and screenshots', async () => {
    const { page } = browser;
    await page.goto(`${room.base}/`);
    await page.waitFor(`document.body.dataset.live === 'snapshot'`);
    const rows = await page.evaluate<number>(`document.querySelectorAll('#clients tr[data-mac]').length`);
    expect(rows).toBe(room.server.clients.list().length);

    // After the page loaded: a new machine reports; only the event stream can bring it.
    const body = {
      phase: 'downloading',
      os: 'hello',
      progress: 0.5,
      bytesFromServer: 3 << 20,
      bytesFromPeers: 9 << 20,
    };
    expect((await status(late, body, '127.0.0.32')).status).toBe(204);
    await page.waitFor(
      `[...document.querySelectorAll('#clients tr[data-mac]')].some((tr) => tr.dataset.mac === '${late}' && tr.children[3].textContent === 'downloading')`,
    );
    const cells = await page.evaluate<string[]>(
      `[...[...document.querySelectorAll('#clients tr[data-mac]')].find((tr) => tr.dataset.mac === '${late}').children].map((td) => td.textContent.trim())`,
    );
    expect(cells.slice(0, 6)).toEqual([late, '127.0.0.32', '-', 'downloading', 'hello', '50%']);
    expect(cells.slice(7, 9)).toEqual(['3.0 MiB', '9.0 MiB']);

    // A log line posted now reaches the failed machine's detail row, as text.
    const more = { lines: ['retrying in 5 s'] };
    await call(room.base, 'POST', `/api/v1/clients/${failed}/log`, {
      body: JSON.stringify(more),
      from: '127.0.0.31',
    });
    await page.waitFor(
      `(document.querySelector('tr.phase-error + tr.detail pre')?.textContent ?? '').includes('retrying in 5 s')`,
    );
    const detail = await page.evaluate<string>(
      `document.querySelector('tr.phase-error + tr.detail').textContent`,
    );
    expect(detail).toContain(evil);
    expect(
      await page.evaluate(`[typeof window.pwned, document.querySelectorAll('#clients img').length]`),
    ).toEqual(['undefined', 0]);

    // The action path: what the page shows is the server's answer to the same PUT.
    await page.evaluate(`localStorage.setItem('boottorrent.token', 'not-the-token'); true`);
    await page.evaluate(
      `[...document.querySelectorAll('#clients tr[data-mac]')].find((tr) => tr.dataset.mac === '${late}').querySelector('.act button').click()`,
    );
    await page.waitFor(
      `!document.querySelector('#action-note').textContent.endsWith('sending…') && document.querySelector('#action-note').textContent !== ''`,
    );
    const note = await page.evaluate<string>(`document.querySelector('#action-note').textContent`);
    const direct = await call(room.base, 'PUT', `/api/v1/machines/${late}`, {
      body: JSON.stringify({ os: null, menu: true }),
      headers: { authorization: 'Bearer not-the-token' },
    });
    expect(direct.status).toBeGreaterThanOrEqual(400);
    expect(note).toBe(`${direct.status} ${direct.text.trim().split('\n')[0]}`);

    // With the project's token the same action sets the machine's next boot; the row follows.
    const token = (await readFile(join(room.server.out.outDir, '..', API_TOKEN_FILE), 'utf8')).trim();
    await page.evaluate(`localStorage.setItem('boottorrent.token', ${JSON.stringify(token)}); true`);
    await page.evaluate(
      `(() => { const act = [...document.querySelectorAll('#clients tr[data-mac]')].find((tr) => tr.dataset.mac === '${late}').querySelector('.act');
        act.querySelector('select').value = 'hello'; act.querySelector('input').checked = true; act.querySelector('button').click(); })()`,
    );
    await page.waitFor(
      `document.querySelector('#action-note').textContent === '${late}: next boot hello, no menu'`,
    );
    expect(room.server.clients.get(late)?.machine).toMatchObject({ os: 'hello', menu: false });
    const html = await call(room.base, 'GET', '/');
    expect(html.text).toMatch(new RegExp(`data-mac="${late}".*?<td class="act">hello, no menu</td>`, 's'));

    const png = await page.screenshot();
    await writeFile(SCREENSHOT, png);
    const img = decodePng(png);
    expect([img.width, img.height]).toEqual([1400, 900]);
    const count = (rgb: [number, number, number]) => {
      let n = 0;
      for (let y = 0; y < img.height; y += 2)
        for (let x = 0; x < img.width; x += 2)
          if (img.rgb(x, y).every((v, i) => Math.abs(v - rgb[i]!) <= 2)) n++;
      return n;
    };
    // The error row's tint and the progress bar's blue are painted: the table is really drawn.
    expect(count([253, 241, 240])).toBeGreaterThan(500);
    expect(count([47, 111, 222])).toBeGreaterThan(20);
  });

  it('reads as a static table with JavaScript off', async () => {
    const { page } = browser;
    await page.send('Emulation.setScriptExecutionDisabled', { value: true });
    try {
      await page.goto(`${room.base}/`);
      const state = await page.evaluate<[string | null, string, number, string]>(
        `[document.body.dataset.live ?? null, document.querySelector('#live').textContent, document.querySelectorAll('#clients tr[data-mac]').length, document.querySelector('tr.phase-error + tr.detail .msg').textContent]`,
      );
      expect(state).toEqual([null, 'static', room.server.clients.list().length, evil]);
    } finally {
      await page.send('Emulation.setScriptExecutionDisabled', { value: false });
    }
  });
});
