import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CLI } from './_run.js';

/**
 * `boottorrent start` as a real subprocess on loopback (DHCP off: it only ever answers inside a
 * namespace, see lab.test.ts). Phase-1 comes from the cache the lab tests share.
 */
const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
const PHASE1 = join(REPO, '.cache/e2e/boottorrent/phase1');
let dir: string;
const children: ChildProcess[] = [];
const servers: Server[] = [];

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function freePorts() {
  return {
    tftp: await freePort(),
    http: await freePort(),
    tracker: await freePort(),
    torrent: await freePort(),
  };
}

async function project(ports: { tftp: number; http: number; tracker: number; torrent: number }) {
  dir = await mkdtemp(join(tmpdir(), 'bt-start-'));
  spawnSync(process.execPath, [CLI, 'init', join(dir, 'p'), '--host-ip', '127.0.0.1', '--interface', 'lo']);
  await writeFile(
    join(dir, 'p/config.yaml'),
    [
      'general: { host_ip: 127.0.0.1, default_os: hello, timeout: 0, seed_time: 0 }',
      'dhcp: { enable: false, interface: lo }',
      `tftp: { port: ${ports.tftp} }`,
      `http: { port: ${ports.http} }`,
      `tracker: { port: ${ports.tracker} }`,
      `torrent: { port: ${ports.torrent} }`,
      '',
    ].join('\n'),
  );
  return join(dir, 'p');
}

function start(projectDir: string, extra: string[] = []) {
  const child = spawn(
    process.execPath,
    [CLI, 'start', projectDir, '--json', '--phase1-dir', PHASE1, ...extra],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  const events: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const ready = new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (l) => {
      const e = JSON.parse(l) as Record<string, unknown>;
      events.push(e);
      if (e.type === 'ready') resolve();
    });
    child.on('exit', (code) => reject(new Error(`start exited ${code}: ${stderr}`)));
  });
  ready.catch(() => {}); // awaited by the tests that expect a start; others look at the exit
  const exit = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  return { child, events, ready, exit, stderr: () => stderr };
}

beforeAll(async () => {
  // Builds phase-1 into the shared cache if no earlier test did.
  const p = await project(await freePorts());
  const r = spawnSync(process.execPath, [CLI, 'build', p, '--phase1-dir', PHASE1], {
    encoding: 'utf8',
    timeout: 900_000,
  });
  await rm(dir, { recursive: true, force: true }); // the tests make their own projects
  if (r.status !== 0) throw new Error(r.stderr);
}, 900_000);

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  for (const s of servers.splice(0)) s.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('boottorrent start', { timeout: 180_000 }, () => {
  it('serves the boot script, phase-1 with ranges, the web seed and the status API, then stops on SIGTERM', async () => {
    const ports = await freePorts();
    const s = start(await project(ports));
    await s.ready;
    const base = `http://127.0.0.1:${ports.http}`;
    const chain = await (await fetch(`${base}/boot.ipxe`)).text();
    expect(chain).toBe(`#!ipxe\nchain ${base}/boot.ipxe?mac=\${netX/mac}\n`);
    const script = await (await fetch(`${base}/boot.ipxe?mac=52:54:00:12:34:56`)).text();
    expect(script).toMatch(/^#!ipxe\n/);
    const kernelUrl = /^kernel (\S+)/m.exec(script)![1]!;
    const initrdUrls = [...script.matchAll(/^initrd (\S+)/gm)].map((m) => m[1]!);
    expect(initrdUrls.at(-1)).toBe(`${base}/phase1/payload.cpio.gz`);
    expect(script).toContain('bt.server=127.0.0.1');
    const ranged = await fetch(kernelUrl, { headers: { range: 'bytes=0-1023' } });
    expect(ranged.status).toBe(206);
    expect((await ranged.arrayBuffer()).byteLength).toBe(1024);
    const hello = await fetch(`${base}/webseed/hello/hello.sh`);
    expect(await hello.text()).toContain('Hello');
    expect((await fetch(`${base}/webseed/hello/../config.yaml`)).status).toBe(404);
    expect((await fetch(`${base}/webseed/hello/config.yaml`)).status).toBe(200);
    expect((await fetch(`${base}/phase1/../../etc/passwd`)).status).toBe(404);
    const post = await fetch(`${base}/api/v1/clients/52:54:00:12:34:56/status`, {
      method: 'POST',
      body: JSON.stringify({
        phase: 'downloading',
        os: 'hello',
        progress: 0.5,
        bytesFromServer: 10,
        bytesFromPeers: 30,
      }),
    });
    expect(post.status).toBe(204);
    const bad = await fetch(`${base}/api/v1/clients/52:54:00:12:34:56/status`, {
      method: 'POST',
      body: '{"phase":"dancing"}',
    });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/^status phase: /);
    const clients = (await (await fetch(`${base}/api/v1/clients`)).json()) as {
      mac: string;
      phase: string;
      bytesFromPeers: number;
    }[];
    expect(clients).toMatchObject([{ mac: '52:54:00:12:34:56', phase: 'downloading', bytesFromPeers: 30 }]);
    expect(s.events.some((e) => e.type === 'client' && e.phase === 'downloading')).toBe(true);
    s.child.kill('SIGTERM');
    expect(await s.exit).toBe(0);
  });

  it("writes an older project's API token at start, says where, and the machine API takes it", async () => {
    const ports = await freePorts();
    const p = await project(ports);
    const tokenFile = join(p, '.boottorrent-token');
    await rm(tokenFile); // a project from before tokens existed
    const s = start(p);
    await s.ready;
    expect(s.stderr()).toContain(`wrote the API token to ${tokenFile} (mode 0600)`);
    expect((await stat(tokenFile)).mode & 0o777).toBe(0o600);
    const token = (await readFile(tokenFile, 'utf8')).trim();
    const base = `http://127.0.0.1:${ports.http}`;
    const put = (auth: string) =>
      fetch(`${base}/api/v1/machines/52:54:00:12:34:56`, {
        method: 'PUT',
        headers: { authorization: auth },
        body: '{"os": "hello", "menu": false}',
      });
    expect((await put('Bearer nope')).status).toBe(401);
    expect((await put(`Bearer ${token}`)).status).toBe(200);
    const script = await (await fetch(`${base}/boot.ipxe?mac=52:54:00:12:34:56`)).text();
    expect(script).toMatch(/^kernel .* bt\.os=hello bt\.menu=0$/m);
    expect(
      s.events.some((e) => e.type === 'warning' && String(e.message).includes('wrong token (401)')),
    ).toBe(true);
    s.child.kill('SIGTERM');
    expect(await s.exit).toBe(0);
  });

  it('names the busy port and its process, and closes the services it had started', async () => {
    const ports = await freePorts();
    const blocker = createServer();
    servers.push(blocker);
    await new Promise<void>((r) => blocker.listen(ports.torrent, '127.0.0.1', r));
    const s = start(await project(ports));
    expect(await s.exit).toBe(1);
    expect(s.stderr()).toContain(
      `boottorrent: seeder: TCP port ${ports.torrent} on 127.0.0.1 is already in use by node (pid ${process.pid})`,
    );
    expect(s.stderr()).not.toMatch(/\n\s+at /);
    // TFTP (UDP), HTTP and the tracker had started before the seeder failed: all closed again.
    const udp = createSocket('udp4');
    await new Promise<void>((r, j) => udp.once('error', j).bind(ports.tftp, '127.0.0.1', () => r()));
    udp.close();
    for (const port of [ports.http, ports.tracker]) {
      const t = createServer();
      await new Promise<void>((r, j) => t.once('error', j).listen(port, '127.0.0.1', r));
      t.close();
    }
  });

  it('refuses to start without root or the capabilities, in one line', async () => {
    const p = await project({
      tftp: 69,
      http: await freePort(),
      tracker: await freePort(),
      torrent: await freePort(),
    });
    spawnSync('chmod', ['-R', 'a+rX', dir]);
    const r = spawnSync(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, 'start', p],
      { encoding: 'utf8' },
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('boottorrent: not root and missing CAP_NET_BIND_SERVICE');
    expect(r.stderr).toContain('hint: run with sudo');
  });

  it('refuses an interface that does not exist', async () => {
    const p = await project(await freePorts());
    const cfg = (await import('node:fs')).readFileSync(join(p, 'config.yaml'), 'utf8');
    await writeFile(
      join(p, 'config.yaml'),
      cfg.replace(
        'dhcp: { enable: false, interface: lo }',
        'dhcp: { enable: true, mode: proxy, interface: nosuch0 }',
      ),
    );
    const s = start(p);
    expect(await s.exit).toBe(1);
    expect(s.stderr()).toContain('boottorrent: interface "nosuch0" does not exist');
  });

  it('without --json and without a TTY prints one plain line per event, and why a machine failed', async () => {
    const ports = await freePorts();
    const p = await project(ports);
    const child = spawn(process.execPath, [CLI, 'start', p, '--phase1-dir', PHASE1], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let stdout = '';
    const seen: [RegExp, () => void][] = [];
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      for (const [re, done] of seen) if (re.test(stdout)) done();
    });
    const printed = (re: RegExp) => new Promise<void>((r) => (re.test(stdout) ? r() : seen.push([re, r])));
    const ready = new Promise<void>((r) =>
      child.stderr!.on('data', (d: Buffer) => d.toString().includes('ready:') && r()),
    );
    await ready;
    const base = `http://127.0.0.1:${ports.http}`;
    await fetch(`${base}/boot.ipxe?mac=52:54:00:aa:bb:cc`);
    // A machine fails: its console lines, then its status report, as the agent sends them.
    const mac = '52:54:00:aa:bb:dd';
    const post = (path: string, body: object) =>
      fetch(`${base}/api/v1/clients/${mac}/${path}`, { method: 'POST', body: JSON.stringify(body) });
    await post('log', { lines: ['Booting Hello', 'boottorrent: could not boot Hello: disk full'] });
    await post('status', { phase: 'error', os: 'hello', message: 'disk full' });
    await printed(/could not boot Hello: disk full\n/);
    child.kill('SIGINT');
    await new Promise((r) => child.on('exit', r));
    expect(child.exitCode).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines).toContain(`http listening on 127.0.0.1:${ports.http}`);
    expect(lines).toContain('client 52:54:00:aa:bb:cc 127.0.0.1 loader (boot.ipxe)');
    expect(lines).toContain(`client ${mac} 127.0.0.1 error hello (status)`);
    const at = lines.indexOf(`client ${mac} 127.0.0.1 error hello (status)`);
    expect(lines.slice(at + 1, at + 4)).toEqual([
      `  ${mac} says: disk full`,
      `  ${mac} | Booting Hello`,
      `  ${mac} | boottorrent: could not boot Hello: disk full`,
    ]);
    // The per-request HTTP log is debug, below the default level.
    expect(stdout).not.toMatch(/^http 200 GET/m);
  });

  it('--log-level debug adds every HTTP request', async () => {
    const ports = await freePorts();
    const p = await project(ports);
    const child = spawn(process.execPath, [CLI, 'start', p, '--phase1-dir', PHASE1, '--log-level', 'debug'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let stdout = '';
    let onLine = () => {};
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      onLine();
    });
    await new Promise<void>((r) =>
      child.stderr!.on('data', (d: Buffer) => d.toString().includes('ready:') && r()),
    );
    await fetch(`http://127.0.0.1:${ports.http}/boot.ipxe`);
    await new Promise<void>((r) => {
      onLine = () => /^http 200 GET \/boot\.ipxe to 127\.0\.0\.1 \(\d+ B\)$/m.test(stdout) && r();
      onLine();
    });
    child.kill('SIGINT');
    await new Promise((r) => child.on('exit', r));
    expect(child.exitCode).toBe(0);
  });

  it('on a terminal shows the live table of clients and swarm totals', async () => {
    const ports = await freePorts();
    const p = await project(ports);
    // `script` gives the server a pseudo-terminal, as a sysadmin's shell would.
    const cmd = [process.execPath, CLI, 'start', p, '--phase1-dir', PHASE1].map((a) => `'${a}'`).join(' ');
    const child = spawn('script', ['-q', '-f', '-e', '-c', cmd, '/dev/null'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    children.push(child);
    let screen = '';
    child.stdout!.on('data', (d: Buffer) => (screen += d.toString()));
    const base = `http://127.0.0.1:${ports.http}`;
    for (let i = 0; i < 120 && !screen.includes('ready:'); i++) await new Promise((r) => setTimeout(r, 250));
    await fetch(`${base}/api/v1/clients/52:54:00:00:00:07/status`, {
      method: 'POST',
      body: JSON.stringify({
        phase: 'downloading',
        os: 'hello',
        progress: 0.42,
        bytesFromServer: 1048576,
        bytesFromPeers: 3145728,
      }),
    });
    for (let i = 0; i < 40 && !screen.includes('downloading 42%'); i++)
      await new Promise((r) => setTimeout(r, 250));
    child.kill('SIGTERM');
    await new Promise((r) => child.on('exit', r));
    const last = screen.split('\x1b[H\x1b[2J').at(-1)!;
    expect(last).toMatch(/MAC +IP +FIRMWARE +PHASE +OS +FROM SERVER +FROM PEERS/);
    expect(last).toMatch(/52:54:00:00:00:07 .* downloading 42% +hello +1\.0 MiB +3\.0 MiB/);
    expect(last).toContain('swarm: 1.0 MiB from the server, 3.0 MiB from peers (server share 25%)');
  });
});
