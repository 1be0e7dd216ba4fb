import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { initProject, loadProject, type Project } from '@boottorrent/config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildOut,
  startBootServer,
  type BootServer,
  type BuiltOut,
  type ServerEvent,
} from '../../src/index.js';
import { freePort, writeLoopbackConfig, type RoomPorts } from './_room.js';

/**
 * The whole boot server in-process on loopback (DHCP off: it answers broadcasts, so it only ever
 * runs inside a namespace — the lab tests drive it there), with real clients: curl for HTTP and
 * tftp-hpa for TFTP. Phase-1 is built with zstd -1 in this test's own folder (a few seconds).
 */
const run = promisify(execFile);
let dir: string;
let phase1Dir: string;

/** A project on 127.0.0.1 with the example OS `init` writes, on free ports (or the ones given). */
async function project(name: string, ports?: RoomPorts) {
  const p = join(dir, name);
  await initProject(p, { hostIp: '127.0.0.1', interface: 'lo' });
  const pt = await writeLoopbackConfig(p, { ports });
  const r = await loadProject(p);
  if (!r.project) throw new Error(`test project invalid: ${JSON.stringify(r.errors)}`);
  return { project: r.project, ports: pt };
}

let server: BootServer;
let main: { project: Project; ports: RoomPorts };
const events: ServerEvent[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bt-server-'));
  phase1Dir = join(dir, 'phase1');
  main = await project('main');
  server = await startBootServer({ project: main.project, phase1Dir, onEvent: (e) => events.push(e) });
}, 600_000);

afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('startBootServer', () => {
  it('builds out/ and reports each service listening on its configured port', () => {
    const listening = events.filter((e) => e.type === 'listening');
    expect(listening.map((e) => e.service).sort()).toEqual(['http', 'seeder', 'tftp', 'tracker']);
    expect(server.ports).toEqual({
      tftp: main.ports.tftp,
      http: main.ports.http,
      tracker: main.ports.tracker,
      seeder: main.ports.torrent,
    });
    expect(server.out.torrents.map((t) => t.os.name)).toEqual(main.project.oss.map((o) => o.name));
    expect(server.out.loaders).toContain('undionly.kpxe');
  });

  it('serves the per-client boot script over HTTP and tracks the machine', async () => {
    const seen = new Promise<ServerEvent>((resolve) =>
      server.on('client', (e) => e.mac === '52:54:00:00:00:01' && resolve(e)),
    );
    const { stdout } = await run('curl', ['-sS', '-f', `${server.urls.script}?mac=52:54:00:00:00:01`]);
    expect(stdout).toMatch(/^#!ipxe/);
    expect(stdout).toContain(`${server.urls.http}/phase1/`);
    expect(stdout).toContain('bt.server=127.0.0.1');
    expect(await seen).toMatchObject({ type: 'client', phase: 'loader', why: 'boot.ipxe' });
    expect(server.clients.get('52:54:00:00:00:01')?.ip).toBe('127.0.0.1');
  });

  it('serves the boot loader and pxelinux.cfg over TFTP to tftp-hpa', async () => {
    const got = join(dir, 'undionly.kpxe');
    const cfg = join(dir, 'pxelinux.cfg');
    const tftp = (remote: string, local: string) =>
      run('tftp', ['127.0.0.1', String(main.ports.tftp), '-m', 'binary', '-c', 'get', remote, local]);
    await tftp('undionly.kpxe', got);
    await tftp('pxelinux.cfg/default', cfg);
    expect((await readFile(got)).equals(await readFile('/usr/lib/ipxe/undionly.kpxe'))).toBe(true);
    expect(await readFile(cfg, 'utf8')).toMatch(/^\s*KERNEL phase1\/vmlinuz$/m);
    expect(events.some((e) => e.type === 'tftp' && e.kind === 'end' && e.file === 'undionly.kpxe')).toBe(
      true,
    );
  });

  it('reports a refused TFTP request with its reason', async () => {
    const refused = new Promise<ServerEvent>((resolve) => server.once('refused', resolve));
    await run('tftp', [
      '127.0.0.1',
      String(main.ports.tftp),
      '-c',
      'get',
      '../etc/passwd',
      join(dir, 'x'),
    ]).catch(() => undefined);
    expect(await refused).toMatchObject({ type: 'refused', service: 'tftp', client: '127.0.0.1' });
  });

  it('fails a port conflict with one SERVER_BIND error naming the service, and closes what it had bound', async () => {
    const { project: clash } = await project('clash', { ...main.ports, tftp: await freePort() });
    const tftpPort = clash.config.tftp.port;
    const e = (await startBootServer({ project: clash, out: server.out as BuiltOut }).catch((x) => x)) as {
      code: string;
      message: string;
      hint: string;
    };
    expect(e.code).toBe('SERVER_BIND');
    expect(e.message).toMatch(
      new RegExp(`^http: TCP port ${main.ports.http} on 127.0.0.1 is already in use`),
    );
    expect(e.hint).not.toBe('');
    // TFTP had bound before HTTP failed: its port is free again.
    const probe = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.bind(tftpPort, '127.0.0.1', resolve);
    });
    probe.close();
  });

  it('refuses an aborted signal with SERVER_ABORTED before binding anything', async () => {
    const { project: p } = await project('aborted');
    const e = (await startBootServer({ project: p, out: server.out, signal: AbortSignal.abort() }).catch(
      (x) => x,
    )) as { code: string };
    expect(e.code).toBe('SERVER_ABORTED');
  });

  it('frees every port on close, emits nothing after it, and closes twice without error', async () => {
    const { project: p, ports } = await project('closing');
    const s = await startBootServer({ project: p, out: server.out });
    let after = 0;
    s.on('event', () => after++);
    await s.close();
    await s.close();
    await run('curl', ['-sS', '--max-time', '5', `http://127.0.0.1:${ports.http}/boot.ipxe`]).then(
      () => expect.fail('HTTP still answers after close'),
      (x: { code: number }) => expect(x.code).toBe(7), // curl: failed to connect
    );
    const again = await startBootServer({ project: p, out: server.out });
    await again.close();
    expect(after).toBe(0);
  });
});

describe('buildOut', () => {
  it('names a folder it cannot write in one SERVER_IO line, not a stack trace', async () => {
    const { project: p } = await project('unwritable');
    const e = (await buildOut({
      project: p,
      outDir: join(dir, 'out-x'),
      phase1Dir: '/dev/null/phase1',
    }).catch((x) => x)) as { code: string; message: string; hint: string };
    expect(e.code).toBe('SERVER_IO');
    expect(e.message).toBe('cannot write /dev/null/phase1 while building out/ (ENOTDIR)');
    expect(e.hint).toMatch(/--phase1-dir/);
  });
});
