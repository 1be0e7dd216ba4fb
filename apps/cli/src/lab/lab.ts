import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { formatProblem, loadProject, prefixLength } from '@boottorrent/config';
import { createNetns, startVm, stopProcess, type Vm } from '@boottorrent/lab';
import { CliError, CliErrorCode } from '../command.js';
import { buildOut, cacheHome } from '@boottorrent/server';
import { TARGET_MARKER, writeDemoProject } from './demo.js';
import { ensureLabDeps } from './deps.js';
import { PHASE_MILESTONE, summarize, type LabSummary, type VmTimeline } from './timeline.js';

export interface LabOptions {
  vms: number;
  uefi: boolean;
  accel: 'tcg' | 'kvm';
  memoryMb: number;
  nic: string;
  /** Seconds for every VM to reach its OS. */
  timeoutS: number;
  workDir: string;
  /** A project to boot; without one the lab writes its demo project. */
  projectDir?: string;
  /** Demo project only. */
  demo: { mode: 'server' | 'proxy'; timeout: number; seedTime: number; padding: number; tracker: boolean };
  /** Run a site DHCP server (dnsmasq, on a second host) handing out addresses beside ours. */
  siteDhcp: boolean;
  /** Fault: power off VM `index` once its download passes `atProgress`. */
  kill?: { index: number; atProgress: number };
  /** Fault: run no BitTorrent seeder on the server (clients use peers and the web seed). */
  noSeeder: boolean;
  /** Seconds between VM power-ons. */
  stagger: number;
  installDeps: boolean;
  hostRoots?: string[];
  log: (line: string) => void;
  signal?: AbortSignal;
}

const CLI = fileURLToPath(new URL('./cli.js', import.meta.url));

/**
 * The virtual room: a namespace with a bridge, the server inside it (`boottorrent start` in a child
 * process), and N QEMU VMs on taps booting with their own firmware. Removes everything it created,
 * whatever happens.
 */
export async function runLab(o: LabOptions): Promise<LabSummary> {
  await ensureLabDeps({ uefi: o.uefi, install: o.installDeps, hostRoots: o.hostRoots, log: o.log });
  await mkdir(o.workDir, { recursive: true });
  const projectDir = o.projectDir ?? join(o.workDir, 'project');
  if (!o.projectDir) {
    await writeDemoProject({
      dir: projectDir,
      address: '10.77.0.1',
      prefix: 24,
      timeout: o.demo.timeout,
      seedTime: o.demo.seedTime,
      padding: o.demo.padding,
      hostRoots: o.hostRoots,
    });
    await patchDemoConfig(projectDir, o.demo);
  }
  const loaded = await loadProject(projectDir);
  if (!loaded.project) {
    throw new CliError(
      CliErrorCode.Project,
      `the lab's project has problems:\n  ${loaded.errors.map(formatProblem).join('\n  ')}`,
      { hint: 'fix the project' },
    );
  }
  const project = loaded.project;
  const c = project.config;
  const prefix = prefixLength(c.dhcp.netmask);
  const outDir = join(o.workDir, 'out');
  o.log('building out/ (torrents, payload, phase-1; cached between runs)');
  const phase1Dir = join(cacheHome(), 'phase1');
  await buildOut({
    project,
    outDir,
    phase1Dir,
    hostRoots: o.hostRoots,
    onProgress: (e) => {
      if (e.step === 'done') o.log(`  ${e.what}: ${e.cached ? 'up to date' : `${e.ms} ms`}`);
    },
  });

  await using cleanup = new AsyncDisposableStack();
  const net = await createNetns({
    prefix: 'bt-lab',
    // The IPv6 prefix: iPXE waits ~16 s for a router advertisement without one (lab-facts).
    bridge: { addresses: [`${c.general.host_ip}/${prefix}`, 'fd77::1/64'], carrier: true },
    taps: o.vms,
  });
  cleanup.defer(() => net.close());
  o.log(`network: namespace ${net.name}, bridge ${net.bridge} ${c.general.host_ip}/${prefix}, ${o.vms} taps`);

  const children: ChildProcess[] = [];
  cleanup.defer(async () => {
    await Promise.all(children.map((ch) => stopProcess(ch, 5000)));
  });
  // IPv6 router advertisements only: iPXE otherwise waits ~16 s for one (lab-facts).
  children.push(spawnQuiet(...net.command('dnsmasq', dnsmasqArgs(net.bridge!, o.workDir, 'ra'))));
  if (o.siteDhcp) {
    const site = await net.addHost({
      suffix: 'site',
      port: 'site0',
      addresses: [`${hostInSubnet(c.general.host_ip, 2)}/${prefix}`],
    });
    cleanup.defer(() => site.close());
    const base = c.general.host_ip.split('.').slice(0, 3).join('.');
    children.push(
      spawnQuiet(
        ...site.command('dnsmasq', [
          ...dnsmasqArgs(site.iface, o.workDir, 'site'),
          `--dhcp-range=${base}.50,${base}.99,${c.dhcp.netmask},1h`,
          '--dhcp-authoritative',
          '--no-ping',
        ]),
      ),
    );
    o.log(`site DHCP server: dnsmasq on ${site.name} (${base}.50–${base}.99)`);
  }

  const vms: Vm[] = [];
  const timelines = new Map<string, VmTimeline>();
  const started = new Map<string, number>();
  const macs = Array.from({ length: o.vms }, (_, i) => `52:54:00:77:00:${(0x10 + i).toString(16)}`);
  macs.forEach((mac, index) =>
    timelines.set(mac, {
      index,
      mac,
      ok: false,
      killed: false,
      marks: {},
      bytesFromServer: 0,
      bytesFromPeers: 0,
      bytesFromWebSeed: 0,
      bytesUploaded: 0,
    }),
  );
  const mark = (mac: string, m: keyof VmTimeline['marks']) => {
    const t = timelines.get(mac);
    const t0 = started.get(mac);
    if (t && t0 !== undefined && t.marks[m] === undefined) t.marks[m] = (Date.now() - t0) / 1000;
  };

  const serverArgs = [CLI, 'start', projectDir, '--json', '--out', outDir, '--phase1-dir', phase1Dir];
  if (o.noSeeder) serverArgs.push('--no-seeder');
  for (const r of o.hostRoots ?? []) serverArgs.push('--host-root', r);
  const [cmd, args] = net.command(process.execPath, serverArgs);
  const server = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.unshift(server);
  const serverLog: string[] = [];
  createInterface({ input: server.stderr! }).on('line', (l) => serverLog.push(l));
  const ready = new Promise<void>((resolve, reject) => {
    server.on('exit', (code) =>
      reject(
        new CliError(
          CliErrorCode.Failed,
          `the server exited (${code}) before it was ready:\n  ${serverLog.slice(-8).join('\n  ')}`,
          { hint: 'see the lines above' },
        ),
      ),
    );
    createInterface({ input: server.stdout! }).on('line', (line) => {
      let e: {
        type?: string;
        mac?: string;
        phase?: string;
        ip?: string;
        progress?: number;
        bytesFromServer?: number;
        bytesFromPeers?: number;
        bytesFromWebSeed?: number;
        kind?: string;
      };
      try {
        e = JSON.parse(line);
      } catch {
        return;
      }
      if (e.type === 'ready') resolve();
      if (e.type === 'lease' && e.kind === 'acked' && e.mac) mark(e.mac, 'dhcp');
      if (e.type === 'client' && e.mac) {
        const t = timelines.get(e.mac);
        const m = e.phase ? PHASE_MILESTONE[e.phase as keyof typeof PHASE_MILESTONE] : undefined;
        if (m) mark(e.mac, m);
        // phase-1 is up when its agent first reports in, whatever it reports.
        if ((e as { why?: string }).why === 'status') mark(e.mac, 'phase1');
        if (t) {
          t.ip = e.ip ?? t.ip;
          t.bytesFromServer = e.bytesFromServer ?? t.bytesFromServer;
          t.bytesFromPeers = e.bytesFromPeers ?? t.bytesFromPeers;
          t.bytesFromWebSeed = e.bytesFromWebSeed ?? t.bytesFromWebSeed;
          if (
            o.kill &&
            t.index === o.kill.index &&
            !t.killed &&
            e.phase === 'downloading' &&
            (e.progress ?? 0) >= o.kill.atProgress
          ) {
            t.killed = true;
            o.log(
              `fault: powering off vm${t.index} at ${Math.round((e.progress ?? 0) * 100)}% of its download`,
            );
            void vms[t.index]?.stop();
          }
        }
        if (e.phase === 'error') o.log(`vm ${e.mac}: agent error`);
      }
    });
  });
  const interrupted = new Promise<never>((_, reject) => {
    const fail = () =>
      reject(
        new CliError(CliErrorCode.Interrupted, 'interrupted', {
          hint: 'everything the lab created was removed',
        }),
      );
    if (o.signal?.aborted) fail();
    o.signal?.addEventListener('abort', fail, { once: true });
  });
  interrupted.catch(() => {});
  await withTimeout(Promise.race([ready, interrupted]), 600_000, 'the server did not become ready in 600 s');
  o.log(
    `server ready in ${net.name}; powering on ${o.vms} VM${o.vms === 1 ? '' : 's'} (${o.uefi ? 'UEFI/OVMF' : 'BIOS/SeaBIOS'} + iPXE, ${o.accel})`,
  );

  for (let i = 0; i < o.vms; i++) {
    if (i > 0 && o.stagger > 0) await sleep(o.stagger * 1000);
    const vm = await startVm({
      name: `vm${i}`,
      netns: net,
      nic: { tap: net.taps[i], mac: macs[i], model: o.nic },
      workDir: o.workDir,
      consoleFile: join(o.workDir, `vm${i}.serial.log`),
      memoryMb: o.memoryMb,
      firmware: o.uefi ? 'uefi' : 'bios',
      accel: o.accel,
    });
    started.set(macs[i]!, Date.now());
    vms.push(vm);
    cleanup.defer(() => vm.stop());
  }

  const deadline = Date.now() + o.timeoutS * 1000;
  for (;;) {
    if (o.signal?.aborted) break;
    let pending = 0;
    for (const vm of vms) {
      const t = timelines.get(vm.mac!)!;
      if (t.ok || t.killed) continue;
      const text = vm.output();
      if (text.includes(TARGET_MARKER)) {
        mark(vm.mac!, 'booted');
        t.ok = true;
        o.log(`${vm.name} booted its OS at ${t.marks.booted!.toFixed(1)} s`);
        continue;
      }
      if (vm.child.exitCode !== null) {
        t.error = 'VM powered off before its OS printed the marker';
        continue;
      }
      pending++;
    }
    if (pending === 0 || Date.now() > deadline) break;
    await sleep(500);
  }
  for (const vm of vms) {
    const t = timelines.get(vm.mac!)!;
    if (!t.ok && !t.killed && !t.error)
      t.error = o.signal?.aborted ? 'interrupted' : `no OS within ${o.timeoutS} s`;
  }
  const summary = summarize([...timelines.values()]);
  await writeFile(
    join(o.workDir, 'lab-result.json'),
    JSON.stringify({ ...summary, serverLog: serverLog.slice(-50) }, null, 2),
  );
  return summary;
}

async function patchDemoConfig(dir: string, demo: LabOptions['demo']) {
  const path = join(dir, 'config.yaml');
  let text = await readFile(path, 'utf8');
  text = text.replace('  interface: br0\n', `  interface: br0\n  mode: ${demo.mode}\n`);
  if (!demo.tracker) text += 'tracker:\n  enable: false\n';
  await writeFile(path, text);
}

function dnsmasqArgs(iface: string, workDir: string, tag: string): string[] {
  const ra = tag === 'ra' ? ['--enable-ra', '--dhcp-range=fd77::,ra-only,64'] : [];
  return [
    '--keep-in-foreground',
    '--conf-file=/dev/null',
    '--port=0',
    `--interface=${iface}`,
    '--bind-interfaces',
    '--pid-file=',
    `--dhcp-leasefile=${join(workDir, `dnsmasq-${tag}.leases`)}`,
    ...ra,
  ];
}

function spawnQuiet(cmd: string, args: string[]): ChildProcess {
  return spawn(cmd, args, { stdio: 'ignore' });
}

function hostInSubnet(ip: string, last: number): string {
  return [...ip.split('.').slice(0, 3), String(last)].join('.');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>(
        (_, rej) =>
          (timer = setTimeout(
            () => rej(new CliError(CliErrorCode.Failed, message, { hint: 'see the server log above' })),
            ms,
          )),
      ),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
