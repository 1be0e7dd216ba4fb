import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startAgent, type PtyAgent } from './pty.js';
import { startWebSeed } from './webseed-server.js';
import { makeWorld, type OsSpec, type World } from './world.js';

const binOs = (name: string, dispname: string, marker: string): OsSpec => ({
  name,
  dispname,
  method: 'bin',
  // Saved 0644: the agent must set the executable bit itself. It prints its args and its cwd.
  files: {
    'run.sh': `#!/bin/sh\necho "${marker} $* in $(pwd)"\nexit 3\n`,
    'data/blob.bin': 'x'.repeat(100_000),
  },
  bin: { bin: 'run.sh', args: ['one', 'two'] },
});

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => {});
});

async function setup(
  worldOpts: Parameters<typeof makeWorld>[0],
  agentOpts: { cmdline?: string; meminfo?: string; kexec?: string } = {},
): Promise<{ world: World; agent: PtyAgent; data: string }> {
  const world = await makeWorld(worldOpts);
  cleanups.push(() => world.close());
  const data = await mkdtemp(join(tmpdir(), 'bt-agent-data-'));
  cleanups.push(() => rm(data, { recursive: true, force: true }));
  const agent = await startAgent({ payload: world.payload, data, ...agentOpts });
  cleanups.push(() => agent.stop());
  return { world, agent, data };
}

/**
 * A 512-byte x86 boot sector: prints QEMU-METHOD-MARKER on COM1 and leaves QEMU through
 * isa-debug-exit (exit code (0 << 1) | 1 = 1). 16-bit real mode, loaded at 0:7C00 by SeaBIOS.
 */
function markerBootSector(): Buffer {
  // prettier-ignore
  const code = [
    0x31, 0xc0, 0x8e, 0xd8,   // xor ax,ax ; mov ds,ax
    0xfc,                     // cld
    0xbe, 0x1a, 0x7c,         // mov si,0x7c1a (the message, right after this code)
    0xba, 0xf8, 0x03,         // mov dx,0x3f8 (COM1)
    0xac,                     // .loop: lodsb
    0x84, 0xc0, 0x74, 0x03,   // test al,al ; jz .done
    0xee, 0xeb, 0xf8,         // out dx,al ; jmp .loop
    0xba, 0xf4, 0x00, 0xee,   // .done: mov dx,0xf4 ; out dx,al (isa-debug-exit)
    0xf4, 0xeb, 0xfd,         // hlt ; jmp hlt
  ];
  const sector = Buffer.alloc(65536);
  Buffer.from(code).copy(sector, 0);
  sector.write('QEMU-METHOD-MARKER\r\n\0', code.length, 'latin1');
  sector[510] = 0x55;
  sector[511] = 0xaa;
  return sector;
}

const two = [binOs('alpha', 'Alpha Linux', 'ALPHA-RAN'), binOs('beta', 'Beta OS', 'BETA-RAN')];

describe('agent under a pseudo-terminal', () => {
  it('counts down, seeds for seed_time, boots the default with the bin method in its folder, and reports its phases', async () => {
    const { world, agent, data } = await setup({
      oss: two,
      manifest: { timeout: 2, defaultOs: 'beta', seedTime: 1 },
    });
    await agent.waitFor(/> Beta OS/);
    await agent.waitFor(/Booting Beta OS in 2 s/);
    await agent.waitFor(/Booting Beta OS in 1 s/);
    await agent.waitFor(/Seeding Beta OS for 1 s more[^]*Seeded 0 B to other machines/);
    const m = await agent.waitFor(/BETA-RAN one two in (\S+)/);
    expect(m[1]).toBe(join(data, 'beta'));
    await agent.waitFor(/Beta OS exited with code 3/);
    expect(agent.text()).toMatch(/100% of .* \(server [\d.]+ KiB, peers 0 B\)/);
    const phases = world.posts.map((p) => p.body.phase);
    expect(phases).toEqual(expect.arrayContaining(['phase1', 'menu', 'downloading', 'loading', 'booted']));
    expect(world.posts[0]!.url).toBe('/api/v1/clients/52%3A54%3A00%3Aaa%3Abb%3Acc/status');
    const booted = world.posts.find((p) => p.body.phase === 'booted')!;
    expect(booted.body).toMatchObject({ os: 'beta', ip: '127.0.0.1', progress: 1 });
    expect(booted.body.bytesFromServer).toBeGreaterThan(100_000);
  });

  it('stops the countdown on any key, moves with the arrows and boots the highlighted entry on Enter', async () => {
    const { agent } = await setup({ oss: two, manifest: { timeout: 3 } });
    await agent.waitFor(/Booting Alpha Linux in 3 s/);
    agent.send('x');
    await agent.waitFor(/Up\/Down to choose/);
    agent.send('\x1b[B');
    await agent.waitFor(/> Beta OS/);
    agent.send('\x1bOA'); // application-mode up arrow, as some serial terminals send it
    await agent.waitFor(/> Alpha Linux[^]*Up\/Down/);
    agent.send('\x1b[B\r');
    await agent.waitFor(/BETA-RAN one two/);
    expect(agent.text()).not.toMatch(/ALPHA-RAN/);
  });

  it('prepares the preselected OS during the countdown and discards it when another is chosen', async () => {
    const { world, agent, data } = await setup({
      oss: two,
      manifest: { timeout: 30, defaultOs: 'beta' },
    });
    const seeded = (name: string) => world.seeder!.stats().find((t) => t.name === name)!;
    const live = (name: string) => seeded(name).peers.filter((p) => p.connected).length;
    await agent.waitFor(/Booting Beta OS in 30 s/);
    // Beta's download is ready during the countdown: connected to the server's seeder, nothing sent.
    await vi.waitFor(() => expect(live('beta')).toBe(1), { timeout: 20_000, interval: 50 });
    expect(seeded('beta').uploaded).toBe(0);
    agent.send('\x1b[A\r'); // up to Alpha, Enter
    await agent.waitFor(/ALPHA-RAN one two/);
    // Beta's prepared download was closed before Alpha's started: its connection is gone, and it
    // left no data behind.
    await vi.waitFor(() => expect(live('beta')).toBe(0), { timeout: 20_000, interval: 50 });
    expect(seeded('beta').uploaded).toBe(0);
    expect(seeded('alpha').uploaded).toBeGreaterThan(100_000);
    const beta = await readdir(join(data, 'beta')).catch(() => []);
    expect(beta).toEqual([]);
  });

  it('boots the default at once when the timeout is 0', async () => {
    const { agent } = await setup({ oss: two, manifest: { timeout: 0 } });
    await agent.waitFor(/ALPHA-RAN/);
    expect(agent.text().split('ALPHA-RAN')[0]).not.toMatch(/choose the system/);
  });

  it('waits for a choice when the timeout is negative', async () => {
    const { agent } = await setup({ oss: two, manifest: { timeout: -1 } });
    await agent.waitFor(/Up\/Down to choose/);
    await new Promise((r) => setTimeout(r, 2500));
    expect(agent.text()).not.toMatch(/Downloading/);
    agent.send('\r');
    await agent.waitFor(/ALPHA-RAN/);
  });

  it('boots the OS named by bt.os= with no menu', async () => {
    const { agent } = await setup({ oss: two, manifest: { timeout: -1 } }, { cmdline: 'quiet bt.os=beta' });
    await agent.waitFor(/BETA-RAN/);
    expect(agent.text().split('BETA-RAN')[0]).not.toMatch(/choose the system/);
  });

  it('names an unknown bt.os= on the menu instead of booting', async () => {
    const { agent } = await setup({ oss: two, manifest: { timeout: -1 } }, { cmdline: 'bt.os=gamma' });
    await agent.waitFor(/bt\.os=gamma: there is no such OS[^]*Up\/Down/);
  });

  it('bt.menu=1 (a machine with menu: true) shows the menu with bt.os= preselected and counts down to it', async () => {
    const { agent } = await setup(
      { oss: two, manifest: { timeout: 2 } },
      { cmdline: 'bt.os=beta bt.menu=1' },
    );
    await agent.waitFor(/> Beta OS[^]*Booting Beta OS in 2 s/);
    await agent.waitFor(/BETA-RAN/);
    expect(agent.text()).not.toMatch(/ALPHA-RAN/);
  });

  it('bt.menu=0 (a machine with menu: false) boots at once even when the menu would wait', async () => {
    const { agent } = await setup({ oss: two, manifest: { timeout: -1 } }, { cmdline: 'bt.menu=0' });
    await agent.waitFor(/ALPHA-RAN/);
    expect(agent.text().split('ALPHA-RAN')[0]).not.toMatch(/choose the system/);
  });

  it("without a per-client plan on the command line, follows the manifest's machines: entry for its MAC", async () => {
    // The lease says 52:54:00:aa:bb:cc; the prefix entry is the longest match.
    const machines = [
      { mac: '52:54:00:*', os: 'alpha', menu: true, cmdline: '' },
      { mac: '52:54:00:aa:*', os: 'beta', menu: false, cmdline: '' },
    ];
    const { agent } = await setup({ oss: two, manifest: { timeout: -1, machines } });
    await agent.waitFor(/BETA-RAN/);
    expect(agent.text().split('BETA-RAN')[0]).not.toMatch(/choose the system/);
  });

  it('opens a shell on s and comes back to the menu when it exits', async () => {
    const { agent } = await setup({ oss: two, manifest: { timeout: 5 } });
    await agent.waitFor(/Booting Alpha Linux in/);
    agent.send('s');
    await agent.waitFor(/Exit the shell/);
    agent.send('echo SHELL-$((40 + 2))\r');
    await agent.waitFor(/SHELL-42/);
    agent.send('exit\r');
    await agent.waitFor(/SHELL-42[^]*choose the system[^]*Up\/Down/);
  });

  it('survives Ctrl+C sent to a running bin OS and shows its exit status', async () => {
    const sleeper: OsSpec = {
      name: 'sleeper',
      dispname: 'Sleeper',
      method: 'bin',
      files: { 'run.sh': '#!/bin/sh\necho SLEEPING\nexec sleep 60\n' },
      bin: { bin: 'run.sh', args: [] },
    };
    const { agent } = await setup({ oss: [sleeper], manifest: { timeout: 0 } });
    await agent.waitFor(/SLEEPING/);
    agent.send('\x03');
    await agent.waitFor(/Sleeper exited with code 130[^]*Up\/Down to choose/);
  });

  it('a machine that is seeding serves the OS to a later one after the server seeder stops', async () => {
    // Server on 127.0.0.2, machines on 127.0.0.1: bytes from the first machine count as from peers.
    const { world, agent: first } = await setup({
      oss: two,
      host: '127.0.0.2',
      reach: '127.0.0.2',
      manifest: { timeout: 0, seedTime: 60 },
    });
    await first.waitFor(/Seeding Alpha Linux for \d+ s more/);
    await world.seeder!.close();
    const data = await mkdtemp(join(tmpdir(), 'bt-agent-data-'));
    cleanups.push(() => rm(data, { recursive: true, force: true }));
    const second = await startAgent({ payload: world.payload, data });
    cleanups.push(() => second.stop());
    await second.waitFor(/Downloaded Alpha Linux in [\d.]+ s: server 0 B, peers 97\.7 KiB/, 30_000);
    await first.waitFor(/Seeding Alpha Linux for \d+ s more, uploaded 97\.7 KiB/, 30_000);
    // Progress reports are throttled to one a second: poll for the one carrying the upload.
    const uploaded = () =>
      world.posts.some((p) => p.body.phase === 'seeding' && Number(p.body.bytesUploaded) > 0);
    for (let i = 0; i < 50 && !uploaded(); i++) await new Promise((r) => setTimeout(r, 100));
    expect(uploaded()).toBe(true);
  });

  it('stops seeding once the server says no machine waits for the OS, and says why', async () => {
    let waiting = 1;
    const { world, agent } = await setup({
      oss: two,
      manifest: { timeout: 0, seedTime: 600, seedWhileNeeded: true },
      waiting: () => waiting,
    });
    await agent.waitFor(/Seeding Alpha Linux for \d+ s more/);
    // One machine still waits: it keeps seeding through several answers.
    const answered = () => world.posts.filter((p) => p.body.phase === 'seeding').length;
    await world.waitPost(() => answered() >= 4);
    expect(agent.text()).not.toMatch(/Stopped seeding/);
    waiting = 0;
    await agent.waitFor(/Stopped seeding after [\d.]+ s: no machine is waiting for Alpha Linux/);
    await agent.waitFor(/Seeded 0 B to other machines/);
  });

  it('seeds past seed_time while the server says a machine waits, up to seed_time_max', async () => {
    let waiting = 1;
    const { world, agent } = await setup({
      oss: two,
      manifest: { timeout: 0, seedTime: 1, seedTimeMax: 600, seedWhileNeeded: true },
      waiting: () => waiting,
    });
    await agent.waitFor(/Seeding Alpha Linux while machines still need it \(at most \d+ s more\)/);
    const answered = () => world.posts.filter((p) => p.body.phase === 'seeding').length;
    const past = answered();
    await world.waitPost(() => answered() >= past + 3);
    expect(agent.text()).not.toMatch(/Stopped seeding/);
    waiting = 0;
    await agent.waitFor(/Stopped seeding after [\d.]+ s: no machine is waiting for Alpha Linux/);
  });

  it('stops at seed_time_max though the server still says a machine waits', async () => {
    const { agent } = await setup({
      oss: two,
      manifest: { timeout: 0, seedTime: 1, seedTimeMax: 3, seedWhileNeeded: true },
      waiting: () => 1,
    });
    await agent.waitFor(
      /Stopped seeding after [\d.]+ s: machines still wait for Alpha Linux, but seed_time_max is reached \(3 s\)/,
    );
  });

  it('seeds the whole seed_time when the server never says how many wait', async () => {
    const { agent } = await setup({ oss: two, manifest: { timeout: 0, seedTime: 2, seedWhileNeeded: true } });
    await agent.waitFor(/Stopped seeding after [\d.]+ s: seed_time reached \(2 s\)/);
  });

  it('refuses an OS that does not fit in RAM with one clear line and returns to the menu', async () => {
    const big = { ...binOs('big', 'Big OS', 'BIG-RAN'), size: 2 * 1024 ** 3 };
    const { agent, world } = await setup(
      { oss: [big], manifest: { timeout: 0 } },
      { meminfo: 'MemTotal: 1000000 kB\nMemFree: 900000 kB\nMemAvailable: 800000 kB\n' },
    );
    await agent.waitFor(
      /not enough RAM for Big OS \(bin\): it needs 2\.1 GiB \(files 2\.0 GiB \+ margin 96\.0 MiB\), this machine has 781\.3 MiB available — pick a smaller OS or give this machine more RAM\r?\n/,
    );
    await agent.waitFor(/Could not boot Big OS[^]*Up\/Down/);
    expect(agent.text()).not.toMatch(/Downloading|BIG-RAN|at .*\.js:\d+/);
    // The console's lines reach the server's log route, so its dashboard can say why.
    const log = await world.waitPost(
      (p) => p.url.endsWith('/log') && (p.body.lines as string[]).some((l) => l.includes('could not boot')),
    );
    expect(log.url).toBe('/api/v1/clients/52%3A54%3A00%3Aaa%3Abb%3Acc/log');
    expect(log.body.lines).toContain(
      'boottorrent: could not boot Big OS: not enough RAM for Big OS (bin): it needs 2.1 GiB (files 2.0 GiB + margin 96.0 MiB), this machine has 781.3 MiB available — pick a smaller OS or give this machine more RAM',
    );
  });

  it('shows a failed kexec -l as one line naming the OS, never runs kexec -e, and returns to the menu', async () => {
    // kexec itself runs only inside QEMU (qemu-e2e.test.ts). Here a stand-in fails `-l` the way
    // kexec does for a file that is not a kernel, and records how it was called.
    const tools = await mkdtemp(join(tmpdir(), 'bt-agent-kexec-'));
    cleanups.push(() => rm(tools, { recursive: true, force: true }));
    const kexec = join(tools, 'kexec');
    await writeFile(
      kexec,
      `#!/bin/sh\necho "$@" >> ${tools}/calls\n` +
        '[ "$1" = -l ] && printf "Cannot determine the file type of %s\\n" "$2" >&2 && exit 255\nexit 1\n',
      { mode: 0o755 },
    );
    const junk: OsSpec = {
      name: 'junk',
      dispname: 'Junk Kernel',
      method: 'kexec',
      files: { vmlinuz: 'not a kernel\n', 'a.img': 'A', 'b.img': 'B' },
      kexec: { kernel: 'vmlinuz', initrds: ['a.img', 'b.img'], cmdline: 'quiet' },
    };
    const { agent, data, world } = await setup({ oss: [junk], manifest: { timeout: 0 } }, { kexec });
    const m = await agent.waitFor(/boottorrent: could not boot Junk Kernel: ([^\n]*)\n[^]*Up\/Down/);
    expect(m[1]).toBe(`kexec -l failed: Cannot determine the file type of ${join(data, 'junk/vmlinuz')}`);
    expect(agent.text()).toMatch(/Could not boot Junk Kernel: kexec -l failed[^]*Up\/Down/);
    expect(agent.text()).not.toMatch(/^\s+at |crashed/m);
    const calls = (await readFile(join(tools, 'calls'), 'utf8')).trim().split('\n');
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatch(/^-l \S+\/junk\/vmlinuz --initrd=\S+-initrd --command-line=quiet$/);
    // The two initrds were joined into one file for kexec; that copy is gone again.
    expect((await readdir(data)).filter((f) => f.endsWith('-initrd'))).toEqual([]);
    // Status reports are best effort and asynchronous: wait for this one.
    await vi.waitFor(() =>
      expect(world.posts.find((p) => p.body.phase === 'error')?.body).toMatchObject({
        os: 'junk',
        message: m[1],
      }),
    );
  });

  it("appends the words after bt.extra to a kexec OS's command line", async () => {
    const tools = await mkdtemp(join(tmpdir(), 'bt-agent-kexec-'));
    cleanups.push(() => rm(tools, { recursive: true, force: true }));
    const kexec = join(tools, 'kexec');
    // Records the call and fails -l, so the agent comes back to the menu instead of running kexec -e.
    await writeFile(kexec, `#!/bin/sh\necho "$@" >> ${tools}/calls\nexit 1\n`, { mode: 0o755 });
    const os: OsSpec = {
      name: 'deb',
      dispname: 'Debian',
      method: 'kexec',
      files: { vmlinuz: 'k' },
      kexec: { kernel: 'vmlinuz', initrds: [], cmdline: 'root=/dev/ram0 quiet' },
    };
    const { agent } = await setup(
      { oss: [os], manifest: { timeout: -1 } },
      { kexec, cmdline: 'console=ttyS0 bt.os=deb bt.menu=0 bt.extra nomodeset hostname=pc12' },
    );
    await agent.waitFor(/could not boot Debian/);
    const calls = (await readFile(join(tools, 'calls'), 'utf8')).trim().split('\n');
    expect(calls[0]).toMatch(/ --command-line=root=\/dev\/ram0 quiet nomodeset hostname=pc12$/);
  });

  it('says the tracker answers but no peer sends data when the swarm is empty', async () => {
    const { agent, world } = await setup(
      { oss: two, seed: false, manifest: { timeout: 0 } },
      { cmdline: 'bt.stall=3' },
    );
    const url = world.manifest.trackers[0]!.replace(/[.:/]/g, (c) => `\\${c}`);
    await agent.waitFor(new RegExp(`tracker ${url} answered but no peer sent data; no web seed`), 30_000);
  });

  it('keeps telling the server it is downloading while no byte arrives', async () => {
    // No seeder: no progress at all. The server counts a downloading machine silent for 30 s as gone.
    const { agent, world } = await setup(
      { oss: two, seed: false, manifest: { timeout: 0 } },
      { cmdline: 'bt.stall=12' },
    );
    await agent.waitFor(/answered but no peer sent data/, 40_000);
    const downloading = world.posts.filter((p) => p.body.phase === 'downloading');
    expect(downloading.length).toBeGreaterThanOrEqual(2);
    expect(downloading.every((p) => !p.body.progress)).toBe(true);
  });

  it('gives a clear error and returns to the menu when the tracker is unreachable and there is no web seed', async () => {
    const { agent } = await setup(
      { oss: two, seed: false, trackerDown: true, manifest: { timeout: 0 } },
      { cmdline: 'bt.stall=3' },
    );
    await agent.waitFor(
      /no progress for 3 s downloading Alpha Linux: tracker http:\/\/127\.0\.0\.1:9\/announce unreachable; no web seed/,
      30_000,
    );
    await agent.waitFor(/Could not boot Alpha Linux[^]*Up\/Down/);
    expect(agent.text()).not.toMatch(/at .*\.js:\d+/);
  });

  it('falls back to the web seed when the tracker is unreachable', async () => {
    const world = await makeWorld({ oss: two, seed: false, trackerDown: true, manifest: { timeout: 0 } });
    cleanups.push(() => world.close());
    const web = await startWebSeed(join(world.dir, 'oss'));
    cleanups.push(() => web.close());
    const manifest = { ...world.manifest, oss: world.manifest.oss.map((o) => ({ ...o, webSeed: web.url })) };
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(world.payload, 'manifest.json'), JSON.stringify(manifest));
    const data = await mkdtemp(join(tmpdir(), 'bt-agent-data-'));
    cleanups.push(() => rm(data, { recursive: true, force: true }));
    const agent = await startAgent({ payload: world.payload, data });
    cleanups.push(() => agent.stop());
    await agent.waitFor(/ALPHA-RAN one two/, 40_000);
    expect(agent.text()).toMatch(/web seed [\d.]+ KiB/);
    expect(web.requests()).toBeGreaterThan(0);
  });

  it('runs qemu-system-x86_64 with the OS args in its folder for the qemu method', async () => {
    const vmOs: OsSpec = {
      name: 'vm',
      dispname: 'Tiny VM',
      method: 'qemu',
      files: { 'disk.img': markerBootSector() },
      qemu: {
        args: [
          ...['-accel', 'tcg', '-m', '32', '-nographic', '-monitor', 'none', '-no-reboot', '-net', 'none'],
          ...[
            '-drive',
            'file=disk.img,format=raw,if=ide',
            '-device',
            'isa-debug-exit,iobase=0xf4,iosize=0x04',
          ],
        ],
      },
    };
    const { agent } = await setup({ oss: [vmOs], manifest: { timeout: 0 } });
    await agent.waitFor(/Booting from Hard Disk[^]*QEMU-METHOD-MARKER/, 60_000);
    await agent.waitFor(/Tiny VM exited with code 1/);
  });

  it('boots even when the status server accepts connections and never answers', async () => {
    const { createServer } = await import('node:net');
    const sockets: import('node:net').Socket[] = [];
    const silent = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    cleanups.push(async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    });
    const port = (silent.address() as { port: number }).port;
    const world = await makeWorld({ oss: two, manifest: { timeout: 0 } });
    cleanups.push(() => world.close());
    const { writeFile } = await import('node:fs/promises');
    await writeFile(
      join(world.payload, 'manifest.json'),
      JSON.stringify({ ...world.manifest, server: { address: '127.0.0.1', httpPort: port } }),
    );
    const data = await mkdtemp(join(tmpdir(), 'bt-agent-data-'));
    cleanups.push(() => rm(data, { recursive: true, force: true }));
    const agent = await startAgent({ payload: world.payload, data });
    cleanups.push(() => agent.stop());
    await agent.waitFor(/ALPHA-RAN one two/);
    expect(sockets.length).toBeGreaterThan(0);
  });
});
