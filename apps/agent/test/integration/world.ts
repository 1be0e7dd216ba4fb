// Test world for the agent: an OS folder, its torrent, a real tracker and seeder on loopback (or
// 127.0.0.1, which QEMU's user network reaches as 10.0.2.2), a status HTTP server recording POSTs, and a payload folder.
import { createServer, type Server } from 'node:http';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClientManifest, ManifestOs } from '@boottorrent/config';
import { createTorrent, startSeeder, type Seeder } from '@boottorrent/seeder';
import { startTracker, type Tracker } from '@boottorrent/tracker';

export interface World {
  dir: string;
  payload: string;
  tracker: Tracker;
  seeder: Seeder | undefined;
  statusPort: number;
  posts: { url: string; body: Record<string, unknown> }[];
  /** The first POST, received or still to come, that `pred` accepts. */
  waitPost(pred: (p: World['posts'][number]) => boolean): Promise<World['posts'][number]>;
  manifest: ClientManifest;
  close(): Promise<void>;
}

export interface OsSpec {
  name: string;
  dispname: string;
  /** files relative to the OS folder; executables get mode 0755 */
  files: Record<string, string | Uint8Array>;
  method: ManifestOs['method'];
  kexec?: ManifestOs['kexec'];
  bin?: ManifestOs['bin'];
  qemu?: ManifestOs['qemu'];
  /** pretend size for the RAM check */
  size?: number;
}

export async function makeWorld(opts: {
  oss: OsSpec[];
  host?: string;
  /** address clients use to reach the host */
  reach?: string;
  seed?: boolean;
  trackerDown?: boolean;
  manifest?: Partial<ClientManifest>;
  /** What the status server answers a seeding report, as the boot server does (`{"waiting": N}`). */
  waiting?: () => number;
}): Promise<World> {
  const host = opts.host ?? '127.0.0.1';
  const reach = opts.reach ?? '127.0.0.1';
  const dir = await mkdtemp(join(tmpdir(), 'bt-agent-test-'));
  const payload = join(dir, 'payload');
  await mkdir(join(payload, 'torrents'), { recursive: true });
  const tracker = await startTracker({ host, port: 0, udp: false });
  const posts: World['posts'] = [];
  const postWaiters = new Set<() => void>();
  const status: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const parsed = JSON.parse(body || '{}') as Record<string, unknown>;
      posts.push({ url: req.url ?? '', body: parsed });
      for (const w of postWaiters) w();
      if (opts.waiting && parsed.phase === 'seeding') res.end(JSON.stringify({ waiting: opts.waiting() }));
      else res.end('{}');
    });
  });
  await new Promise<void>((r) => status.listen(0, host, r));
  const statusPort = (status.address() as { port: number }).port;
  const announce = opts.trackerDown
    ? [`http://${reach}:9/announce`]
    : [`http://${reach}:${tracker.httpPort}/announce`];
  const oss: ManifestOs[] = [];
  const seeded: { torrent: Uint8Array; dir: string }[] = [];
  for (const spec of opts.oss) {
    const osDir = join(dir, 'oss', spec.name);
    for (const [rel, content] of Object.entries(spec.files)) {
      await mkdir(join(osDir, rel, '..'), { recursive: true });
      await writeFile(join(osDir, rel), content);
      if (typeof content === 'string' && content.startsWith('#!')) await chmod(join(osDir, rel), 0o644);
    }
    const t = await createTorrent(osDir, { name: spec.name, pieceLength: 16384 });
    await writeFile(join(payload, 'torrents', `${spec.name}.torrent`), t.torrent);
    seeded.push({ torrent: t.torrent, dir: osDir });
    oss.push({
      name: spec.name,
      dispname: spec.dispname,
      torrent: `${spec.name}.torrent`,
      infoHash: t.infoHash,
      size: spec.size ?? t.size,
      method: spec.method,
      ...(spec.kexec ? { kexec: spec.kexec } : {}),
      ...(spec.bin ? { bin: spec.bin } : {}),
      ...(spec.qemu ? { qemu: spec.qemu } : {}),
    });
  }
  const seeder =
    opts.seed === false
      ? undefined
      : await startSeeder({
          torrents: seeded,
          port: 0,
          host,
          // The seeder announces on the host's own side; clients reach it through `server.seederPort`.
          announce: [`http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${tracker.httpPort}/announce`],
        });
  const manifest: ClientManifest = {
    version: 1,
    server: { address: reach, httpPort: statusPort, ...(seeder ? { seederPort: seeder.port } : {}) },
    timeout: 5,
    defaultOs: oss[0]?.name ?? null,
    seedTime: 0,
    trackers: announce,
    lsd: false,
    pex: true,
    oss,
    ...opts.manifest,
  };
  await writeFile(join(payload, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return {
    dir,
    payload,
    tracker,
    seeder,
    statusPort,
    posts,
    waitPost: (pred) =>
      new Promise((resolve) => {
        const check = () => {
          const p = posts.find(pred);
          if (!p) return false;
          postWaiters.delete(check);
          resolve(p);
          return true;
        };
        if (!check()) postWaiters.add(check);
      }),
    manifest,
    async close() {
      await seeder?.close();
      await tracker.close();
      await new Promise<void>((r) => status.close(() => r()));
      status.closeAllConnections();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
