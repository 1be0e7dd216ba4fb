import { createWriteStream } from 'node:fs';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { afterAll, describe, expect, it } from 'vitest';
import {
  buildPayload,
  buildPhase1,
  PHASE1_TCP_CONGESTION,
  PHASE1_TCP_NOTSENT_LOWAT,
} from '../../src/index.js';
import { hostParts } from './helpers.js';
import { startVm, type Vm } from '@boottorrent/testing/lab';

let dir: string | undefined;
let vm: Vm | undefined;
afterAll(async () => {
  await vm?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function concat(files: string[], out: string): Promise<void> {
  const ws = createWriteStream(out);
  for (const f of files) await pipeline(createReadStream(f), ws, { end: false });
  await new Promise<void>((r) => ws.end(r));
}

// The agent stand-in: shows what /init left for it, then exits so /init's fallback shows.
const AGENT = `
import { readFileSync } from 'node:fs';
const lease = readFileSync('/run/boottorrent/lease', 'utf8').trim().split('\\n').join(' ');
const manifest = JSON.parse(readFileSync('/boottorrent/manifest.json', 'utf8'));
console.log('AGENT-OK node=' + process.version + ' tty=' + process.stdin.isTTY + ' manifest=' + manifest.marker + ' lease: ' + lease);
process.exit(7);
`;

describe('phase-1 in QEMU (TCG, direct boot, user-mode network)', () => {
  it('loads the NIC driver, gets a DHCP lease, honours bt.server=, runs the agent on node and falls back to a shell', async () => {
    dir = await mkdtemp(join(tmpdir(), 'bt-qemu-phase1-'));
    const agent = join(dir, 'agent.mjs');
    await writeFile(agent, AGENT);
    const parts = await hostParts();
    // xz here (the agent's QEMU test boots zstd): the kernel must take our CRC32 + x86 BCJ streams.
    const p1 = await buildPhase1({
      outDir: join(dir, 'out'),
      parts,
      agentBundle: agent,
      compression: 'xz',
      level: 1,
    });
    const payload = await buildPayload({
      out: join(dir, 'payload.cpio.gz'),
      manifest: { marker: 'PAYLOAD-42' },
      torrents: [],
    });
    // xz phase-1 archives followed by the gzip payload: the kernel takes mixed compressors.
    const initrd = join(dir, 'initrd.img');
    await concat([...p1.initrds, payload.path], initrd);
    vm = await startVm({
      kernel: p1.kernel,
      initrd,
      append: 'console=ttyS0 quiet panic=-1 bt.server=10.0.2.99',
      memoryMb: 1024,
      nic: {},
    });
    await vm.waitFor(/boottorrent phase-1: eth0 has 10\.0\.2\.15, server 10\.0\.2\.99/, 240_000);
    const m = await vm.waitFor(/AGENT-OK ([^\r\n]*)\r?\n/, 120_000);
    expect(m[1]).toContain(`node=${process.version}`);
    expect(m[1]).toContain('tty=true');
    expect(m[1]).toContain('manifest=PAYLOAD-42');
    expect(m[1]).toMatch(
      /mac=52:54:00:12:34:56 ip=10\.0\.2\.15 .*serverid=10\.0\.2\.2 siaddr=10\.0\.2\.2 .*server=10\.0\.2\.99/,
    );
    await vm.waitFor(/the agent exited \(7\); here is a shell/, 30_000);
    await vm.waitFor(/# /, 30_000);
    vm.send('echo SHELL-$((6 * 7))\n');
    await vm.waitFor(/SHELL-42/, 30_000);
    // The TCP settings /init applies took effect in the real kernel.
    vm.send(
      'echo TCP-$(cat /proc/sys/net/ipv4/tcp_congestion_control)-$(cat /proc/sys/net/ipv4/tcp_notsent_lowat)\n',
    );
    await vm.waitFor(new RegExp(`TCP-${PHASE1_TCP_CONGESTION}-${PHASE1_TCP_NOTSENT_LOWAT}\\r?\\n`), 30_000);
    vm.send('exit\n');
    await vm.waitFor(/AGENT-OK[^]*AGENT-OK/, 120_000);
    expect(vm.output()).not.toMatch(/Kernel panic|Initramfs unpacking failed/);
  }, 480_000);

  it('brings up an e1000 NIC (slow link) with only that driver, from gzip archives', async () => {
    const work = await mkdtemp(join(tmpdir(), 'bt-qemu-e1000-'));
    let e1000: Vm | undefined;
    try {
      const agent = join(work, 'agent.mjs');
      await writeFile(agent, AGENT);
      const parts = await hostParts();
      const p1 = await buildPhase1({
        outDir: join(work, 'out'),
        parts,
        agentBundle: agent,
        compression: 'gzip',
        level: 1,
        nicModules: ['e1000'],
      });
      const payload = await buildPayload({
        out: join(work, 'payload.cpio.gz'),
        manifest: { marker: 'E1000' },
        torrents: [],
      });
      const initrd = join(work, 'initrd.img');
      await concat([...p1.initrds, payload.path], initrd);
      e1000 = await startVm({
        kernel: p1.kernel,
        initrd,
        append: 'console=ttyS0 quiet panic=-1',
        memoryMb: 1024,
        nic: { model: 'e1000' },
      });
      const m = await e1000.waitFor(/AGENT-OK ([^\r\n]*)\r?\n/, 240_000);
      expect(m[1]).toMatch(/manifest=E1000 lease: interface=eth0 .*ip=10\.0\.2\.15 .*server=10\.0\.2\.2/);
    } finally {
      await e1000?.stop();
      await rm(work, { recursive: true, force: true });
    }
  }, 480_000);
});
