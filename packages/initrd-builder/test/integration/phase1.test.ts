import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildPayload,
  buildPhase1,
  InitrdErrorCode,
  readCpio,
  readInitrd,
  type HostParts,
  type Phase1Progress,
  type CpioRecord,
} from '../../src/index.js';
import { hostParts } from './helpers.js';

let parts: HostParts;
let dir: string;
let agent: string;
beforeAll(async () => {
  parts = await hostParts();
  dir = await mkdtemp(join(tmpdir(), 'bt-phase1-'));
  agent = join(dir, 'agent.mjs');
  await writeFile(agent, 'console.log("agent v1");\n');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

// zstd -3 takes ~1 s on Node where xz -3 takes ~35 s: the structure tests use it.
const ZSTD3 = { compression: 'zstd', level: 3 } as const;
const XZ_MAGIC = 'fd377a585a00';
const ZSTD_MAGIC = '28b52ffd';
const magic = async (f: string, n: number) => (await readFile(f)).subarray(0, n).toString('hex');

const records = async (files: string[]): Promise<Map<string, CpioRecord>> => {
  const map = new Map<string, CpioRecord>();
  for (const f of files) for (const r of readInitrd(await readFile(f))) map.set(r.path, r);
  return map;
};
const sha = async (f: string) =>
  createHash('sha256')
    .update(await readFile(f))
    .digest('hex');

describe('buildPhase1', () => {
  it('assembles init, busybox, kexec, NIC modules in load order with their index, node with its libraries, and the agent', async () => {
    const events: Phase1Progress[] = [];
    const out = join(dir, 'a');
    const r = await buildPhase1({
      outDir: out,
      parts,
      agentBundle: agent,
      ...ZSTD3,
      onProgress: (e) => events.push(e),
    });
    expect(r.cached).toBe(false);
    expect(r.initrds.map((f) => basename(f))).toEqual([
      'base.cpio.zst',
      'modules.cpio.zst',
      'node.cpio.zst',
      'agent.cpio.zst',
    ]);
    expect(r.nicModules).toBe(r.initrds[1]);
    // busybox cannot unpack zstd: one stage, the boot loader loads everything.
    expect(r.runtime).toBeNull();
    expect(r.loaderInitrds).toEqual(r.initrds);
    const recs = await records(r.initrds);
    expect(recs.get('init')).toMatchObject({ type: 'file', mode: 0o755 });
    const init = Buffer.from(recs.get('init')!.data).toString();
    for (const word of [
      'mount -t devtmpfs',
      'insmod',
      'udhcpc -i',
      'bt.server=',
      'cttyhack /usr/bin/node /agent.mjs',
    ]) {
      expect(init).toContain(word);
    }
    expect(recs.get('dev/console')).toMatchObject({ type: 'chardev', major: 5, minor: 1 });
    expect(recs.get('bin/sh')).toMatchObject({ type: 'symlink', target: 'busybox' });
    expect(recs.get('usr/bin/node')).toMatchObject({ mode: 0o755, size: r.sizes.node });
    expect(recs.get('usr/sbin/kexec')).toBeDefined();
    expect(recs.get('lib64/ld-linux-x86-64.so.2')).toBeDefined();
    expect([...recs.keys()].some((p) => /libxenctrl\.so/.test(p))).toBe(true);
    expect([...recs.keys()].some((p) => /libstdc\+\+\.so\.6$/.test(p))).toBe(true);
    expect(Buffer.from(recs.get('agent.mjs')!.data).toString()).toContain('agent v1');
    const order = Buffer.from(recs.get('etc/boottorrent/modules')!.data).toString().trim().split('\n');
    const at = (m: string) => order.findIndex((l) => l.endsWith(`/${m}.ko`));
    expect(at('virtio_pci')).toBeGreaterThanOrEqual(0);
    expect(at('virtio_pci')).toBeLessThan(at('virtio_net'));
    expect(at('libphy')).toBeLessThan(at('r8169'));
    // modules.softdep: r8169 pre: realtek (its PHY driver).
    expect(at('realtek')).toBeGreaterThan(at('libphy'));
    expect(at('realtek')).toBeLessThan(at('r8169'));
    for (const m of order) expect(recs.has(`lib/modules/${m}`), m).toBe(true);
    for (const name of ['e1000', 'e1000e', 'igb', 'igc', 'ixgbe', 'r8169', 'tg3', 'bnx2', 'bnxt_en']) {
      expect(at(name), name).toBeGreaterThan(0);
    }
    // Base holds no module: they are all in the modules archive, with the lines of the kernel's
    // modules.alias, modules.dep and modules.softdep that name them (a server cuts one NIC's
    // archive from it).
    const base = await records([r.initrds[0]!]);
    expect([...base.keys()].filter((p) => p.endsWith('.ko'))).toEqual([]);
    expect(base.has('etc/boottorrent/modules')).toBe(false);
    const mods = await records([r.nicModules!]);
    expect([...mods.keys()].filter((p) => p.endsWith('.ko'))).toHaveLength(order.length);
    const root = `lib/modules/${parts.kernelVersion}`;
    const alias = Buffer.from(mods.get(`${root}/modules.alias`)!.data).toString();
    const hostAlias = await readFile(join(parts.modulesDir, 'modules.alias'), 'utf8');
    expect(hostAlias).toContain('alias pci:v00008086d0000100Esv*sd*bc*sc*i* e1000\n');
    expect(alias).toContain('alias pci:v00008086d0000100Esv*sd*bc*sc*i* e1000\n');
    expect(alias).toContain('alias virtio:d00000001v* virtio_net\n');
    for (const line of alias.trim().split('\n')) expect(hostAlias).toContain(`${line}\n`);
    expect(alias).not.toMatch(/ (ahci|snd_hda_intel|xhci_pci)\n/);
    const depLines = Buffer.from(mods.get(`${root}/modules.dep`)!.data)
      .toString()
      .trim()
      .split('\n');
    expect(depLines).toHaveLength(order.length);
    expect(depLines).toContain('kernel/drivers/net/ethernet/intel/e1000/e1000.ko:');
    const softdep = Buffer.from(mods.get(`${root}/modules.softdep`)!.data).toString();
    const hostSoftdep = await readFile(join(parts.modulesDir, 'modules.softdep'), 'utf8');
    expect(hostSoftdep).toContain('softdep r8169 pre: realtek\n');
    expect(softdep).toContain('softdep r8169 pre: realtek\n');
    for (const line of softdep.trim().split('\n')) {
      for (const name of line
        .split(' ')
        .slice(1)
        .filter((w) => !w.endsWith(':'))) {
        expect(at(name), line).toBeGreaterThanOrEqual(0);
      }
    }
    const archives = r.initrds.reduce((s, f) => s + r.sizes[basename(f)]!, 0);
    expect(r.sizes.total).toBe(r.sizes.kernel! + archives);
    expect(events.filter((e) => e.type === 'built').map((e) => (e as { file: string }).file)).toHaveLength(4);
  });

  it('rebuilds nothing when the inputs did not change, and only the agent archive when the agent did', async () => {
    const out = join(dir, 'a');
    const before = await Promise.all(['base.cpio.zst', 'node.cpio.zst'].map((f) => sha(join(out, f))));
    const again = await buildPhase1({ outDir: out, parts, agentBundle: agent, ...ZSTD3 });
    expect(again.cached).toBe(true);
    await writeFile(agent, 'console.log("agent v2");\n');
    const events: Phase1Progress[] = [];
    const third = await buildPhase1({
      outDir: out,
      parts,
      agentBundle: agent,
      ...ZSTD3,
      onProgress: (e) => events.push(e),
    });
    expect(third.cached).toBe(false);
    expect(events.filter((e) => e.type === 'built').map((e) => (e as { file: string }).file)).toEqual([
      'agent.cpio.zst',
    ]);
    expect(await Promise.all(['base.cpio.zst', 'node.cpio.zst'].map((f) => sha(join(out, f))))).toEqual(
      before,
    );
    expect(Buffer.from((await records([third.initrds[3]!])).get('agent.mjs')!.data).toString()).toContain(
      'v2',
    );
  });

  it('is reproducible: another build from the same inputs gives byte-identical files', async () => {
    const b = await buildPhase1({ outDir: join(dir, 'b'), parts, agentBundle: agent, ...ZSTD3 });
    for (const f of b.initrds) expect(await sha(f), basename(f)).toBe(await sha(join(dir, 'a', basename(f))));
  });

  it('writes xz by default, and a compression switch rebuilds every archive under its own name', async () => {
    const out = join(dir, 'a');
    const events: Phase1Progress[] = [];
    const r = await buildPhase1({
      outDir: out,
      parts,
      agentBundle: agent,
      level: 0,
      onProgress: (e) => events.push(e),
    });
    expect(r.initrds.map((f) => basename(f))).toEqual([
      'base.cpio.xz',
      'modules.cpio.xz',
      'node.cpio.xz',
      'agent.cpio.xz',
    ]);
    expect(events.filter((e) => e.type === 'built')).toHaveLength(4);
    for (const f of r.initrds) expect(await magic(f, 6), basename(f)).toBe(XZ_MAGIC);
    const agentCpio = execFileSync('xz', ['-dc', r.initrds[3]!]);
    expect(Buffer.from(readCpio(agentCpio).find((e) => e.path === 'agent.mjs')!.data).toString()).toContain(
      'agent v2',
    );
    const archives = r.initrds.reduce((s, f) => s + r.sizes[basename(f)]!, 0);
    expect(r.sizes.total).toBe(r.sizes.kernel! + archives);
    // Two stages: the boot loader loads base and the modules; the runtime is node + agent byte for
    // byte, and base carries its SHA-256 and part sizes for /init.
    expect(r.loaderInitrds.map((f) => basename(f))).toEqual(['base.cpio.xz', 'modules.cpio.xz']);
    const runtime = await readFile(r.runtime!.path);
    const [node, agentXz] = [await readFile(r.initrds[2]!), await readFile(r.initrds[3]!)];
    expect(runtime.equals(Buffer.concat([node, agentXz]))).toBe(true);
    expect(r.runtime!.parts).toEqual([node.length, agentXz.length]);
    const baseCpio = readCpio(execFileSync('xz', ['-dc', r.initrds[0]!], { maxBuffer: 1 << 30 }));
    const info = Buffer.from(baseCpio.find((e) => e.path === 'etc/boottorrent/runtime')!.data).toString();
    expect(info).toBe(
      `sha256=${createHash('sha256').update(runtime).digest('hex')}\nname=runtime.cpio.xz\nparts=${node.length} ${agentXz.length}\n`,
    );
    // busybox's unxz (what /init unpacks with) reads the runtime's archives: no x86 filter in them.
    expect(execFileSync('xz', ['--list', '-vv', r.initrds[2]!]).toString()).not.toMatch(/x86/);
    expect(execFileSync('xz', ['--list', '-vv', r.initrds[0]!]).toString()).toMatch(/x86/);
    expect(execFileSync('xz', ['--list', '-vv', r.initrds[1]!]).toString()).toMatch(/x86/);
    // Back to zstd: its archives are still there and still match their inputs.
    const back = await buildPhase1({ outDir: out, parts, agentBundle: agent, ...ZSTD3 });
    expect(back.cached).toBe(true);
    for (const f of back.initrds) expect(await magic(f, 4), basename(f)).toBe(ZSTD_MAGIC);
  });

  it('writes gzip archives with only the NIC modules asked for, and refuses unknown ones', async () => {
    const r = await buildPhase1({
      outDir: join(dir, 'gz'),
      parts,
      agentBundle: agent,
      compression: 'gzip',
      level: 1,
      nicModules: ['e1000'],
    });
    expect(r.initrds.map((f) => basename(f))).toEqual([
      'base.cpio.gz',
      'modules.cpio.gz',
      'node.cpio.gz',
      'agent.cpio.gz',
    ]);
    const mods = await records([r.initrds[1]!]);
    expect(Buffer.from(mods.get('etc/boottorrent/modules')!.data).toString()).toBe(
      `${parts.kernelVersion}/kernel/drivers/net/ethernet/intel/e1000/e1000.ko\n`,
    );
    await expect(
      buildPhase1({ outDir: join(dir, 'gz'), parts, agentBundle: agent, nicModules: ['no_such_nic'] }),
    ).rejects.toMatchObject({ code: InitrdErrorCode.ModuleMissing });
  });

  it('adds qemu-system-x86_64, its libraries and firmware when an OS uses the qemu method', async () => {
    const r = await buildPhase1({
      outDir: join(dir, 'a'),
      parts,
      agentBundle: agent,
      compression: 'zstd',
      level: 1,
      qemu: true,
    });
    expect(basename(r.initrds.at(-1)!)).toBe('qemu.cpio.zst');
    const recs = await records([r.initrds.at(-1)!]);
    expect(recs.get('usr/bin/qemu-system-x86_64')).toMatchObject({ mode: 0o755 });
    expect(recs.has('usr/share/seabios/bios-256k.bin')).toBe(true);
    expect([...recs.keys()].some((p) => p.startsWith('usr/lib/ipxe/qemu/'))).toBe(true);
    // Debian's QEMU loads TCG as a module; without it QEMU stops at once.
    expect(recs.has('usr/lib/x86_64-linux-gnu/qemu/accel-tcg-x86_64.so')).toBe(true);
    expect([...recs.keys()].some((p) => /libglib-2\.0\.so/.test(p))).toBe(true);
  });

  it('stops with INITRD_ABORTED, carrying the abort reason, when its signal fires', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(
      buildPhase1({ outDir: join(dir, 'c'), parts, agentBundle: agent, level: 1, signal: ac.signal }),
    ).rejects.toMatchObject({ code: 'INITRD_ABORTED', cause: ac.signal.reason });
  });
});

describe('buildPayload', () => {
  it('writes the manifest and the torrents under /boottorrent, reproducibly', async () => {
    const opts = {
      out: join(dir, 'payload/payload.cpio.gz'),
      manifest: { version: 1, oss: [{ name: 'deb' }] },
      torrents: [{ name: 'deb.torrent', data: new Uint8Array([100, 101, 101]) }],
    };
    const r = await buildPayload(opts);
    const recs = await records([r.path]);
    expect(JSON.parse(Buffer.from(recs.get('boottorrent/manifest.json')!.data).toString())).toEqual(
      opts.manifest,
    );
    expect([...recs.get('boottorrent/torrents/deb.torrent')!.data]).toEqual([100, 101, 101]);
    expect(recs.get('boottorrent')).toMatchObject({ type: 'dir' });
    const first = await sha(r.path);
    await buildPayload(opts);
    expect(await sha(r.path)).toBe(first);
    await expect(
      buildPayload({ ...opts, torrents: [{ name: '../x', data: new Uint8Array() }] }),
    ).rejects.toThrow(/plain file name/);
  });
});
