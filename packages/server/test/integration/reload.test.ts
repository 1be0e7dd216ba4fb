import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initProject, loadProject, type Project } from '@boottorrent/config';
import { download, type DownloadProgress, uploadBurstBytes } from '@boottorrent/seeder';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reloadFromDir, startBootServer, type BootServer } from '../../src/index.js';

/**
 * BootServer.reload in-process on loopback: an OS folder added while a client downloads another
 * one is hashed, seeded, whitelisted and put in the payload; the running download finishes from the
 * same connection; a broken config.yaml changes nothing and comes back as one line per problem.
 */
let dir: string;
let p: string;
let server: BootServer;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function load(): Promise<Project> {
  const r = await loadProject(p);
  if (!r.project) throw new Error(JSON.stringify(r.errors));
  return r.project;
}

/** A `bin` OS folder named `name` with a random image of `bytes`. */
async function addOs(name: string, bytes: number): Promise<void> {
  await cp(join(p, 'oss/hello'), join(p, 'oss', name), { recursive: true });
  await writeFile(join(p, 'oss', name, 'config.yaml'), `dispname: ${name}\nmethod: bin\nbin: hello.sh\n`);
  await writeFile(join(p, 'oss', name, 'image.bin'), randomBytes(bytes));
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bt-reload-'));
  p = join(dir, 'project');
  await initProject(p, { hostIp: '127.0.0.1', interface: 'lo' });
  await writeFile(
    join(p, 'config.yaml'),
    [
      'general: { host_ip: 127.0.0.1, timeout: 0, seed_time: 0, default_os: hello }',
      'dhcp: { enable: false, interface: lo }',
      `tftp: { port: ${await freePort()} }`,
      `http: { port: ${await freePort()} }`,
      `tracker: { port: ${await freePort()} }`,
      // 64 Mbit/s: the old download below is still running when the reload starts.
      `torrent: { port: ${await freePort()}, upload_limit_mbit: 64 }`,
      'phase1: { compression: zstd, level: 1 }',
      '',
    ].join('\n'),
  );
  await addOs('big', 24 << 20);
  server = await startBootServer({ project: await load(), phase1Dir: join(dir, 'phase1') });
}, 600_000);

afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('BootServer.reload', () => {
  it('serves a new OS folder while a download of another goes on', async () => {
    const big = server.out.torrents.find((t) => t.os.name === 'big')!;
    const announce = server.urls.trackers;
    expect(server.uploadLimit()).toBe(8_000_000);
    const t0 = performance.now();
    // The old OS: a client mid-download when the reload starts (its first progress report).
    let atReload: DownloadProgress | undefined;
    let resolveStarted!: () => void;
    const started = new Promise<void>((r) => (resolveStarted = r));
    const oldDownload = download({
      torrent: big.torrent,
      dir: join(dir, 'client-old'),
      announce,
      onProgress: (pr) => {
        atReload ??= pr;
        resolveStarted();
      },
    });
    await started;
    expect(atReload!.downloaded).toBeLessThan(big.size);

    await addOs('fresh', 3 << 20);
    const result = await server.reload(await load());
    expect(result).toEqual({ added: ['fresh'], changed: [], removed: [], restart: [] });

    // The new OS: in server.out, the payload's manifest, the web seed, the tracker and the seeder.
    const fresh = server.out.torrents.find((t) => t.os.name === 'fresh')!;
    expect(fresh).toBeDefined();
    expect(server.out.manifest.oss.map((o: { name: string }) => o.name)).toContain('fresh');
    const base = server.urls.http;
    const web = await fetch(`${base}/webseed/fresh/image.bin`);
    expect(web.status).toBe(200);
    expect(Buffer.from(await web.arrayBuffer())).toEqual(await readFile(join(p, 'oss/fresh/image.bin')));
    await using newDl = await download({ torrent: fresh.torrent, dir: join(dir, 'client-new'), announce });
    expect(await readFile(join(newDl.dir, 'image.bin'))).toEqual(
      await readFile(join(p, 'oss/fresh/image.bin')),
    );
    // Found through the tracker (no server peer given, no web seed): the seeder serves it.
    expect(newDl.stats()).toMatchObject({ downloaded: fresh.size, fromWebSeed: 0 });

    await using old = await oldDownload;
    // The cap held: no faster than 8 MB/s after the bucket's burst and one block (a lower bound,
    // whatever the machine's load).
    expect(performance.now() - t0).toBeGreaterThan(
      ((big.size - uploadBurstBytes(8e6) - (16 << 10)) / 8e6) * 1000,
    );
    expect(await readFile(join(old.dir, 'image.bin'))).toEqual(await readFile(join(p, 'oss/big/image.bin')));
    expect(old.stats()).toMatchObject({ downloaded: big.size, fromWebSeed: 0 });
    // Both came from the server's seeder, the one that was running before the reload.
    expect(server.uploaded().seeder).toBeGreaterThanOrEqual(big.size + fresh.size);
  }, 300_000);

  it('a changed OS gets a new torrent; a removed one is gone; ports and DHCP wait for a restart', async () => {
    await writeFile(join(p, 'oss/fresh/image.bin'), randomBytes(1 << 20));
    await rm(join(p, 'oss/big'), { recursive: true });
    const yaml = await readFile(join(p, 'config.yaml'), 'utf8');
    await writeFile(
      join(p, 'config.yaml'),
      yaml
        .replace(/http: \{ port: \d+ \}/, 'http: { port: 1 }')
        .replace('upload_limit_mbit: 64', 'upload_limit_mbit: 0'),
    );
    const before = server.out.torrents.find((t) => t.os.name === 'fresh')!.infoHash;
    const result = await server.reload(await load());
    expect(result).toEqual({ added: [], changed: ['fresh'], removed: ['big'], restart: ['http'] });
    expect(server.out.torrents.map((t) => t.os.name)).toEqual(['fresh', 'hello']);
    expect(server.out.torrents.find((t) => t.os.name === 'fresh')!.infoHash).not.toBe(before);
    expect((await fetch(`${server.urls.http}/webseed/big/image.bin`)).status).toBe(404);
    // The seeder's cap is lifted without a restart.
    expect(server.uploadLimit()).toBeUndefined();
  }, 300_000);

  it('a broken config.yaml keeps the running project and says why, one line per problem', async () => {
    const hashes = server.out.torrents.map((t) => t.infoHash);
    const yaml = await readFile(join(p, 'config.yaml'), 'utf8');
    await writeFile(join(p, 'config.yaml'), `${yaml}bogus: 1\ngeneral2: {}\n`);
    const r = await reloadFromDir(server, p);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.length).toBeGreaterThanOrEqual(1);
    for (const line of r.problems) {
      expect(line).not.toContain('\n');
      expect(line).toMatch(/config\.yaml:\d+:\d+/);
    }
    expect(server.out.torrents.map((t) => t.infoHash)).toEqual(hashes);
    expect((await fetch(`${server.urls.http}/webseed/hello/hello.sh`)).status).toBe(200);
  });
});
