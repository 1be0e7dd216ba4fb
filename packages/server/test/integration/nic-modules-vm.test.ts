// A BIOS VM with an e1000 NIC boots through the real per-client iPXE script: QEMU's iPXE ROM
// expands ${netX/busid:hexraw} itself, the server sends e1000's modules alone, and phase-1 Linux,
// which has no other NIC driver, gets on the network with them (the agent's status report).
import type { ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { initProject } from '@boottorrent/config';
import { createNetns, startVm, type Netns, type Vm } from '@boottorrent/testing/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerEvent } from '../../src/index.js';

const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));
// Its own phase-1 folder: other tests' servers keep theirs while this one builds.
const PHASE1 = join(here('../../../../'), 'node_modules/.cache/bt-server-nic-vm/phase1');
const SERVER = '10.77.31.1';
const MAC = '52:54:00:77:31:10';

let dir: string;
let ns: Netns;
let server: ChildProcess | undefined;
let vm: Vm | undefined;
const events: ServerEvent[] = [];
let output = '';

/** Resolves with `f()` once defined; rejects after `ms`, quoting the server. */
async function until<T>(what: string, f: () => T | undefined, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (server?.exitCode !== null || Date.now() > end)
      throw new Error(
        `${what}: not within ${ms} ms; server said: ${output.slice(-2000)}\n${vm?.output().slice(-2000)}`,
      );
    await new Promise((r) => setTimeout(r, 200));
  }
}

const http = (f: (e: Extract<ServerEvent, { type: 'http' }>) => boolean) => () =>
  events.find((e): e is Extract<ServerEvent, { type: 'http' }> => e.type === 'http' && f(e));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bt-nic-vm-'));
  ns = await createNetns({
    prefix: 'btnicvm',
    bridge: { addresses: [`${SERVER}/24`], carrier: true },
    taps: 1,
  });
  const project = join(dir, 'project');
  await initProject(project, { hostIp: SERVER, interface: 'br0' });
  await writeFile(
    join(project, 'config.yaml'),
    [
      `general: { host_ip: ${SERVER}, timeout: 30, seed_time: 0 }`,
      'dhcp: { interface: br0, range: { start: 10.77.31.100, end: 10.77.31.150 } }',
      'phase1: { compression: zstd, level: 1 }',
      '',
    ].join('\n'),
  );
  await mkdir(PHASE1, { recursive: true });
  server = ns.spawn(process.execPath, [here('./_ns-server.mjs'), project, PHASE1, 'no-seeder'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let ready = false;
  server.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  createInterface({ input: server.stdout! }).on('line', (line) => {
    output += `${line}\n`;
    const msg = JSON.parse(line) as { event?: ServerEvent; ready?: boolean };
    if (msg.event) events.push(msg.event);
    if (msg.ready) ready = true;
  });
  await until('server ready', () => (ready ? true : undefined), 300_000);
}, 330_000);

afterAll(async () => {
  await vm?.close();
  if (server && server.exitCode === null && server.signalCode === null) {
    server.kill('SIGTERM');
    await new Promise((r) => server!.once('exit', r));
  }
  await ns?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('per-NIC modules in a VM', () => {
  it(
    "boots an e1000 VM with e1000's modules alone, fetched by the id its iPXE filled in",
    { timeout: 600_000 },
    async () => {
      vm = await startVm({
        name: 'nic',
        netns: ns,
        firmware: 'bios',
        nic: { tap: ns.taps[0]!, mac: MAC, model: 'e1000' },
        memoryMb: 768,
        workDir: dir,
        consoleFile: join(dir, 'console.log'),
      });
      // The server's request log: iPXE asked for QEMU's e1000, PCI 8086:100e.
      const nic = await until(
        'the modules archive fetched',
        http((e) => e.path.startsWith('/phase1/nic/') && e.method === 'GET'),
        300_000,
      );
      expect(nic.path).toMatch(/^\/phase1\/nic\/018086100e\/modules\.cpio\.zst$/);
      expect(nic.status).toBe(200);
      const full = (await readFile(join(PHASE1, 'modules.cpio.zst'))).length;
      expect(nic.bytes).toBeGreaterThan(0);
      expect(nic.bytes).toBeLessThan(full / 10);
      // Phase-1 Linux is on the network with them: the agent reports its status over HTTP.
      const status = await until(
        "the agent's status report",
        http((e) => e.method === 'POST' && /^\/api\/v1\/clients\/[^/]+\/status/.test(e.path)),
        400_000,
      );
      expect(status.status).toBeLessThan(300);
      expect(vm.output()).toMatch(/boottorrent phase-1: modules: e1000\r?\n/);
      // Nobody asked for the full set.
      expect(
        events.some(
          (e) => e.type === 'http' && e.path === `/phase1/${basename(join(PHASE1, 'modules.cpio.zst'))}`,
        ),
      ).toBe(false);
    },
  );
});
