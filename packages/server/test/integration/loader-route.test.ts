// UEFI HTTP boot's loader URL (http://SERVER:PORT/snponly.efi) served from out/tftp, fetched by curl.
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientTable, loaderRoutes, startHttpServer, type HttpServer } from '../../src/index.js';

const SNPONLY = '/usr/lib/ipxe/snponly.efi'; // Debian's ipxe package, which tools/setup.sh installs
let dir: string;
let http: HttpServer;
let base: string;
const clients = new ClientTable();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bt-loader-route-'));
  await copyFile(SNPONLY, join(dir, 'snponly.efi'));
  await writeFile(join(dir, 'leases.json'), '{}');
  http = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    baseUrl: 'http://127.0.0.1:1',
    phase1: { kernel: join(dir, 'snponly.efi'), initrds: [] },
    cmdline: '',
    webSeedFiles: new Map(),
    clients,
    routes: loaderRoutes({ tftpRoot: dir, loaders: ['snponly.efi'], clients }),
  });
  base = `http://127.0.0.1:${http.port}`;
});
afterAll(async () => {
  await http?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('loader route', () => {
  it('serves a loader byte for byte to curl at the path DHCP offers', async () => {
    const out = join(dir, 'got.efi');
    const { stdout } = await promisify(execFile)('curl', [
      '-sS',
      '-o',
      out,
      '-w',
      '%{http_code}',
      `${base}/snponly.efi`,
    ]);
    expect(stdout).toBe('200');
    expect((await readFile(out)).equals(await readFile(SNPONLY))).toBe(true);
  });

  it('serves nothing else from the TFTP root', async () => {
    for (const path of ['/leases.json', '/snponly.efi/', '/x/snponly.efi', '/ipxe.efi'])
      expect((await fetch(base + path)).status, path).toBe(404);
  });
});
