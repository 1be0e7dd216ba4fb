import { createSocket, type Socket } from 'node:dgram';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { API_TOKEN_FILE } from '@boottorrent/config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { magicPacket, WOL_PORT, type ServerEvent } from '../../src/index.js';
import { launchChromium, type Browser } from './_browser.js';
import { call, startRoom } from './_room.js';

/**
 * The dashboard's wake and reload actions against a whole boot server in-process on loopback: the
 * token gate of `POST /api/v1/reload`, a reload that adds an OS folder, a broken config.yaml that
 * keeps the running project, and in Debian's headless chromium the Wake button (a real magic
 * packet, broadcast on lo to 127.255.255.255:9, caught by this test's listener) and the Reload button.
 */
let room: Awaited<ReturnType<typeof startRoom>>;
let project: string;
let token: string;
let listener: Socket;
/** Magic packets caught on UDP port 9 (other tests may wake other MACs: each test looks for its own). */
const packets: Buffer[] = [];

beforeAll(async () => {
  room = await startRoom('actions');
  project = join(room.dir, 'project');
  token = (await readFile(join(project, API_TOKEN_FILE), 'utf8')).trim();
  // reuseAddr: every socket bound to the port gets a copy of a broadcast, so a parallel test cannot
  // take the port away from this one.
  listener = createSocket({ type: 'udp4', reuseAddr: true });
  listener.on('message', (m) => packets.push(m));
  await new Promise<void>((r) => listener.bind(WOL_PORT, '0.0.0.0', r));
}, 600_000);
afterAll(async () => {
  listener?.close();
  await room?.close();
});

const reload = (auth?: string) =>
  call(room.base, 'POST', '/api/v1/reload', { headers: auth ? { authorization: `Bearer ${auth}` } : {} });
const warnings = () => room.events.flatMap((e: ServerEvent) => (e.type === 'warning' ? [e.message] : []));
const osNames = () => room.server.out.torrents.map((t) => t.os.name).sort();

/** A copy of the example OS under a new folder name and display name. */
async function addOs(name: string): Promise<void> {
  await cp(join(project, 'oss/hello'), join(project, 'oss', name), { recursive: true });
  const cfg = await readFile(join(project, 'oss', name, 'config.yaml'), 'utf8');
  await writeFile(
    join(project, 'oss', name, 'config.yaml'),
    cfg.replace(/^dispname:.*$/m, `dispname: ${name}`),
  );
}

describe('POST /api/v1/reload', () => {
  it('refuses a missing or wrong token with 401 and one log line, reloading nothing', async () => {
    const before = osNames();
    const none = await reload();
    expect(none.status).toBe(401);
    expect(none.text).toMatch(/^missing token: send the project's \.boottorrent-token as .*\n$/);
    const wrong = await reload('0'.repeat(64));
    expect(wrong.status).toBe(401);
    expect(wrong.text).toMatch(/^wrong token: /);
    expect(warnings().filter((w) => w.includes('/api/v1/reload'))).toEqual([
      'refused POST /api/v1/reload from 127.0.0.1: missing token (401)',
      'refused POST /api/v1/reload from 127.0.0.1: wrong token (401)',
    ]);
    expect(osNames()).toEqual(before);
  });

  it('with the token, serves an OS folder added since the start: in out/ and in the dashboard', async () => {
    expect(osNames()).not.toContain('extra');
    await addOs('extra');
    const r = await reload(token);
    expect(r.status, r.text).toBe(200);
    expect(r.text).toBe('reloaded: added extra\n');
    expect(osNames()).toContain('extra');
    const html = await call(room.base, 'GET', '/');
    expect(html.text).toMatch(/<table id="oss">.*<td class="mono">extra<\/td>/s);
    // …and a machine can be set to boot it at once, without a restart.
    const put = await call(room.base, 'PUT', '/api/v1/machines/52:54:00:00:00:42', {
      body: JSON.stringify({ os: 'extra', menu: false }),
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    });
    expect(put.status, put.text).toBe(200);
    const plan = await call(room.base, 'GET', '/boot.ipxe?mac=52:54:00:00:00:42');
    expect(plan.text).toContain('bt.os=extra');
  });

  it('a broken config.yaml is a 422 with the problem line, and the old project stays served', async () => {
    const yaml = await readFile(join(project, 'config.yaml'), 'utf8');
    const hashes = room.server.out.torrents.map((t) => t.infoHash);
    await writeFile(join(project, 'config.yaml'), `${yaml}bogus: 1\n`);
    try {
      const r = await reload(token);
      expect(r.status).toBe(422);
      const lines = r.text.trimEnd().split('\n');
      expect(lines.length).toBeGreaterThanOrEqual(1);
      for (const line of lines) expect(line).toMatch(/config\.yaml:\d+:\d+/);
      expect(r.text).toContain('bogus');
      expect(room.server.out.torrents.map((t) => t.infoHash)).toEqual(hashes);
      // The web seed still serves the running OS's files.
      const t = room.server.out.torrents.find((x) => x.os.name === 'hello')!;
      const f = await call(room.base, 'GET', `/webseed/hello/${t.files[0]!.path}`);
      expect(f.status, `${f.status} ${f.text.slice(0, 80)}`).toBe(200);
    } finally {
      await writeFile(join(project, 'config.yaml'), yaml);
    }
  });
});

describe('dashboard actions in chromium', () => {
  let browser: Browser;
  const mac = '52:54:00:00:40:01';
  const note = `document.querySelector('#action-note').textContent`;
  const settled = `(${note}) !== '' && !(${note}).endsWith('sending…')`;
  const clickWake = `[...document.querySelectorAll('#clients tr[data-mac]')].find((tr) => tr.dataset.mac === '${mac}').querySelector('.act button.wake').click()`;

  beforeAll(async () => {
    const s = await call(room.base, 'POST', `/api/v1/clients/${mac}/status`, {
      body: JSON.stringify({ phase: 'menu' }),
      from: '127.0.0.41',
    });
    expect(s.status).toBe(204);
    browser = await launchChromium({ width: 1400, height: 900 });
    await browser.page.goto(`${room.base}/`);
    await browser.page.waitFor(`document.body.dataset.live === 'snapshot'`);
  }, 120_000);
  afterAll(() => browser?.close());

  const mine = () => packets.filter((p) => p.equals(magicPacket(mac)));

  it('Wake with a wrong token shows the server 401 line and sends nothing', async () => {
    const { page } = browser;
    await page.evaluate(`localStorage.setItem('boottorrent.token', 'not-the-token'); true`);
    await page.evaluate(clickWake);
    await page.waitFor(settled);
    const shown = await page.evaluate<string>(note);
    const direct = await call(room.base, 'POST', `/api/v1/machines/${mac}/wake`, {
      headers: { authorization: 'Bearer not-the-token' },
    });
    expect(direct.status).toBe(401);
    expect(shown).toBe(`401 ${direct.text.trim().split('\n')[0]}`);
    expect(mine()).toHaveLength(0);
  });

  it('Wake with the token sends the magic packet and shows where it went', async () => {
    const { page } = browser;
    const got = new Promise<void>((resolve) => {
      const l = (m: Buffer) => {
        if (!m.equals(magicPacket(mac))) return;
        listener.off('message', l);
        resolve();
      };
      listener.on('message', l);
    });
    await page.evaluate(`localStorage.setItem('boottorrent.token', ${JSON.stringify(token)}); true`);
    await page.evaluate(clickWake);
    await page.waitFor(settled);
    expect(await page.evaluate<string>(note)).toBe(`${mac}: wake-on-LAN sent (127.255.255.255:${WOL_PORT})`);
    await got;
    const want = [
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      ...Array(16).fill([0x52, 0x54, 0, 0, 0x40, 0x01]).flat(),
    ];
    expect(mine().map((p) => [...p])).toEqual([want]);
  });

  it('Reload project reloads, shows the summary line, and the new OS appears in the OS table', async () => {
    const { page } = browser;
    await addOs('clicked');
    await page.evaluate(`document.querySelector('#reload').click()`);
    await page.waitFor(`(${note}).startsWith('reloaded') || (${note}).startsWith('4')`);
    expect(await page.evaluate<string>(note)).toBe('reloaded: added clicked');
    expect(osNames()).toContain('clicked');
    // The next summary over the event stream redraws the OS table.
    await page.waitFor(
      `[...document.querySelectorAll('#oss tbody tr')].some((tr) => tr.children[1].textContent === 'clicked')`,
    );
  });

  it('Reload project with a wrong token shows the 401 line', async () => {
    const { page } = browser;
    await page.evaluate(`localStorage.setItem('boottorrent.token', 'not-the-token'); true`);
    await page.evaluate(`document.querySelector('#reload').click()`);
    await page.waitFor(`(${note}).startsWith('401')`);
    const direct = await reload('not-the-token');
    expect(await page.evaluate<string>(note)).toBe(`401 ${direct.text.trim().split('\n')[0]}`);
  });
});
