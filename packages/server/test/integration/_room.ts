import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initProject, loadProject } from '@boottorrent/config';
import { startBootServer, type BootServer, type ServerEvent } from '../../src/index.js';

/** A free TCP port on loopback (the kernel picks it; the listener is closed again). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Ports of a loopback test project. */
export type RoomPorts = Record<'tftp' | 'http' | 'tracker' | 'torrent', number>;

/**
 * A config.yaml for a project on 127.0.0.1: DHCP off (it answers broadcasts, so it only runs inside
 * namespaces), free ports (or the ones given), phase-1 with zstd -1 (seconds, not a minute), then
 * `extra` lines. Returns the ports.
 */
export async function writeLoopbackConfig(
  projectDir: string,
  o: { general?: string; ports?: RoomPorts; extra?: string[] } = {},
): Promise<RoomPorts> {
  const ports = o.ports ?? {
    tftp: await freePort(),
    http: await freePort(),
    tracker: await freePort(),
    torrent: await freePort(),
  };
  const yaml = [
    `general: { host_ip: 127.0.0.1, ${o.general ?? 'timeout: 0, seed_time: 0'} }`,
    'dhcp: { enable: false, interface: lo }',
    `tftp: { port: ${ports.tftp} }`,
    `http: { port: ${ports.http} }`,
    `tracker: { port: ${ports.tracker} }`,
    `torrent: { port: ${ports.torrent} }`,
    'phase1: { compression: zstd, level: 1 }',
    ...(o.extra ?? []),
  ];
  await writeFile(join(projectDir, 'config.yaml'), yaml.join('\n') + '\n');
  return ports;
}

/**
 * The whole boot server in-process on 127.0.0.1 with the example OS `init` writes, DHCP off (it
 * answers broadcasts, so it only runs inside namespaces), free ports, phase-1 built with zstd -1.
 */
export async function startRoom(name: string): Promise<{
  server: BootServer;
  base: string;
  events: ServerEvent[];
  dir: string;
  close(): Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), `bt-${name}-`));
  const p = join(dir, 'project');
  await initProject(p, { hostIp: '127.0.0.1', interface: 'lo' });
  await writeLoopbackConfig(p);
  const r = await loadProject(p);
  if (!r.project) throw new Error(`test project invalid: ${JSON.stringify(r.errors)}`);
  const events: ServerEvent[] = [];
  const server = await startBootServer({
    project: r.project,
    phase1Dir: join(dir, 'phase1'),
    onEvent: (e) => events.push(e),
  });
  return {
    server,
    base: server.urls.http,
    events,
    dir,
    close: async () => {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface Answer {
  status: number;
  text: string;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * One HTTP request from a chosen loopback source address (127.0.0.x), so tests of the per-source
 * rate limit and of different machines do not share a bucket.
 */
export function call(
  base: string,
  method: string,
  path: string,
  opts: { body?: string | Buffer; from?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        method,
        path,
        localAddress: opts.from ?? '127.0.0.1',
        headers: {
          ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...opts.headers,
        },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            text: Buffer.concat(chunks).toString(),
            headers: res.headers,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}
