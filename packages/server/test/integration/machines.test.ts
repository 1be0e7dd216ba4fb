import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { API_TOKEN_FILE, initProject, loadProject, type Project } from '@boottorrent/config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MACHINES_STATE_FILE,
  startBootServer,
  type BootServer,
  type BuiltOut,
  type ServerEvent,
} from '../../src/index.js';
import { writeLoopbackConfig } from './_room.js';

/**
 * Per-machine plans end to end on loopback: config.yaml's machines:, the per-client iPXE script,
 * PUT/GET /api/v1/machines with the project's token, and the state surviving a restart. curl is the
 * client (fetch for what curl cannot send as simply).
 */
const run = promisify(execFile);
let dir: string;
let project: Project;
let server: BootServer;
let out: BuiltOut;
let token: string;
const events: ServerEvent[] = [];

const DESK = '52:54:00:00:00:01';
const ROOM_MAC = '52:54:00:aa:bb:cc';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bt-machines-'));
  const p = join(dir, 'project');
  await initProject(p, { hostIp: '127.0.0.1', interface: 'lo' });
  await cp(join(p, 'oss/hello'), join(p, 'oss/other'), { recursive: true });
  await writeFile(join(p, 'oss/other/config.yaml'), 'dispname: Other\nmethod: bin\nbin: hello.sh\n');
  await writeLoopbackConfig(p, {
    general: 'timeout: 5, seed_time: 0, default_os: hello',
    extra: [
      'machines:',
      `  - mac: ${DESK}`,
      '    os: other',
      '    menu: false',
      '    cmdline: nomodeset hostname=desk1',
      '  - mac: 52:54:00:aa:*',
      '    name: room A',
      '    os: hello',
    ],
  });
  const r = await loadProject(p);
  if (!r.project) throw new Error(`test project invalid: ${JSON.stringify(r.errors)}`);
  project = r.project;
  token = (await readFile(join(p, API_TOKEN_FILE), 'utf8')).trim();
  server = await startBootServer({ project, phase1Dir: join(dir, 'phase1'), onEvent: (e) => events.push(e) });
  out = server.out;
}, 600_000);

afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

/** The kernel line of a machine's iPXE script, fetched with curl. */
async function kernelLine(mac: string): Promise<string> {
  const { stdout } = await run('curl', ['-sS', '-f', `${server.urls.script}?mac=${mac}`]);
  return stdout.split('\n').find((l) => l.startsWith('kernel ')) ?? '';
}

/** curl a request; resolves with the status and the body. */
async function curl(method: string, path: string, opts: { body?: string; auth?: string } = {}) {
  const args = ['-sS', '-X', method, '-w', '\n%{http_code}', `${server.urls.http}${path}`];
  if (opts.body !== undefined) args.push('-H', 'content-type: application/json', '--data-binary', opts.body);
  if (opts.auth !== undefined) args.push('-H', `authorization: ${opts.auth}`);
  const { stdout } = await run('curl', args);
  const nl = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(nl + 1)), body: stdout.slice(0, nl) };
}

describe('the per-client boot script', () => {
  it("carries a configured MAC's OS, menu flag and extra words, with the extras last", async () => {
    const line = await kernelLine(DESK);
    expect(line).toContain('bt.server=127.0.0.1');
    expect(line).toMatch(/ bt\.os=other bt\.menu=0 bt\.extra nomodeset hostname=desk1$/);
  });

  it("carries a prefix entry's OS with the menu kept on", async () => {
    expect(await kernelLine(ROOM_MAC.toUpperCase())).toMatch(/ bt\.os=hello bt\.menu=1$/);
  });

  it("puts config.yaml's machines: in the manifest, for machines booted without this script", () => {
    expect(out.manifest.machines).toEqual([
      { mac: DESK, os: 'other', menu: false, cmdline: 'nomodeset hostname=desk1' },
      { mac: '52:54:00:aa:*', os: 'hello', menu: true, cmdline: '' },
    ]);
  });

  it('adds nothing for a machine no entry names', async () => {
    const line = await kernelLine('52:55:00:00:00:09');
    expect(line).not.toContain('bt.os=');
    expect(line).not.toContain('bt.menu=');
  });
});

describe('PUT /api/v1/machines/:mac', () => {
  const MAC = '52:54:00:00:00:42';

  it('refuses a request without a token or with a wrong one: 401 and one warning line', async () => {
    const before = events.length;
    const none = await curl('PUT', `/api/v1/machines/${MAC}`, { body: '{"os":"other"}' });
    expect(none.status).toBe(401);
    expect(none.body).toMatch(/^missing token: send the project's \.boottorrent-token/);
    const wrong = await curl('PUT', `/api/v1/machines/${MAC}`, {
      body: '{"os":"other"}',
      auth: `Bearer ${'0'.repeat(64)}`,
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatch(/^wrong token/);
    const basic = await curl('PUT', `/api/v1/machines/${MAC}`, { body: '{}', auth: `Basic ${token}` });
    expect(basic.status).toBe(401);
    const warnings = events.slice(before).filter((e) => e.type === 'warning');
    expect(warnings.map((w) => (w.type === 'warning' ? w.message : ''))).toEqual([
      `refused PUT /api/v1/machines/${MAC} from 127.0.0.1: missing token (401)`,
      `refused PUT /api/v1/machines/${MAC} from 127.0.0.1: wrong token (401)`,
      `refused PUT /api/v1/machines/${MAC} from 127.0.0.1: missing token (401)`,
    ]);
    expect((await curl('GET', `/api/v1/machines/${MAC}`)).status).toBe(404);
  });

  it('refuses bad input with 400 and one line, and changes nothing', async () => {
    const auth = `Bearer ${token}`;
    const cases: [string, string, RegExp][] = [
      [MAC, '{"os":"nope"}', /^os "nope" is not a folder in oss\/ \(use one of: hello, other\)$/],
      ['52:54:00:00:42', '{"os":"other"}', /^bad MAC "52:54:00:00:42"/],
      [MAC, '{"os":', /^body is not JSON/],
      [MAC, '{"os":"other","colour":"red"}', /^unknown field "colour" \(known: os, menu, cmdline\)$/],
      [MAC, '{"menu":"no"}', /^menu: /],
      [MAC, '{"cmdline":"a\\nb"}', /^cmdline holds a control character or line break$/],
      [MAC, '[1]', /^body: /],
    ];
    for (const [mac, body, line] of cases) {
      const r = await curl('PUT', `/api/v1/machines/${mac}`, { body, auth });
      expect(r.status, body).toBe(400);
      expect(r.body.trimEnd(), body).toMatch(line);
      expect(r.body.trimEnd().split('\n'), body).toHaveLength(1);
    }
    const big = await curl('PUT', `/api/v1/machines/${MAC}`, {
      body: JSON.stringify({ cmdline: 'x'.repeat(5000) }),
      auth,
    });
    expect(big.status).toBe(413);
    expect((await curl('GET', `/api/v1/machines/${MAC}`)).status).toBe(404);
  });

  it('sets the next OS, menu and cmdline with the token; the script, the clients row and GET follow', async () => {
    await kernelLine(MAC); // the machine has been seen: it has a row in the client table
    const changed = new Promise<ServerEvent>((resolve) =>
      server.on('client', (e) => e.mac === MAC && e.why === 'machine' && resolve(e)),
    );
    const r = await curl('PUT', `/api/v1/machines/${MAC}`, {
      body: '{"os":"other","menu":false,"cmdline":"quiet"}',
      auth: `Bearer ${token}`,
    });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ mac: MAC, os: 'other', menu: false, cmdline: 'quiet' });
    await changed;
    expect(await kernelLine(MAC)).toMatch(/ bt\.os=other bt\.menu=0 bt\.extra quiet$/);
    const rows = JSON.parse((await curl('GET', '/api/v1/clients')).body) as {
      mac: string;
      machine?: unknown;
    }[];
    expect(rows.find((c) => c.mac === MAC)?.machine).toMatchObject({ os: 'other', menu: false });
    const list = JSON.parse((await curl('GET', '/api/v1/machines')).body) as { mac: string }[];
    expect(list.map((m) => m.mac)).toEqual([DESK, MAC]);
  });

  it('overrides a configured machine field by field, and DELETE goes back to config.yaml', async () => {
    const auth = `Bearer ${token}`;
    const r = await curl('PUT', `/api/v1/machines/${ROOM_MAC}`, { body: '{"menu":false}', auth });
    expect(JSON.parse(r.body)).toMatchObject({
      os: 'hello',
      menu: false,
      config: { match: '52:54:00:aa:*', name: 'room A' },
      override: { menu: false },
    });
    expect(await kernelLine(ROOM_MAC)).toMatch(/ bt\.os=hello bt\.menu=0$/);
    expect((await curl('DELETE', `/api/v1/machines/${ROOM_MAC}`)).status).toBe(401);
    expect((await curl('DELETE', `/api/v1/machines/${ROOM_MAC}`, { auth })).status).toBe(204);
    expect(await kernelLine(ROOM_MAC)).toMatch(/ bt\.os=hello bt\.menu=1$/);
  });

  it('keeps the overrides in the project across a restart, and config.yaml untouched', async () => {
    const yaml = await readFile(join(project.dir, 'config.yaml'), 'utf8');
    const state = JSON.parse(await readFile(join(project.dir, MACHINES_STATE_FILE), 'utf8')) as {
      machines: Record<string, unknown>;
    };
    expect(Object.keys(state.machines)).toEqual(['52:54:00:00:00:42']);
    await server.close();
    server = await startBootServer({ project, out });
    expect(await kernelLine('52:54:00:00:00:42')).toMatch(/ bt\.os=other bt\.menu=0 bt\.extra quiet$/);
    const plan = JSON.parse((await curl('GET', '/api/v1/machines/52-54-00-00-00-42')).body) as object;
    expect(plan).toMatchObject({ os: 'other', menu: false, cmdline: 'quiet', override: { os: 'other' } });
    expect(await readFile(join(project.dir, 'config.yaml'), 'utf8')).toBe(yaml);
    // The token file is the one init wrote, still readable by its owner only.
    expect((await stat(join(project.dir, API_TOKEN_FILE))).mode & 0o777).toBe(0o600);
  });
});
