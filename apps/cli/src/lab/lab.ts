import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatProblem, loadProject, prefixLength, type Project } from '@boottorrent/config';
import { createNetns, startDnsmasq, startVm, stopProcess, type Netns, type Vm } from '@boottorrent/lab';
import { CliError, CliErrorCode } from '../command.js';
import { buildOut, cacheHome } from '@boottorrent/server';
import { TARGET_MARKER, writeDemoProject } from './demo.js';
import { ensureLabDeps } from './deps.js';
import { startServerProcess } from './server-process.js';
import { summarize, type LabSummary } from './timeline.js';
import { BootWatch } from './watch.js';

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
  /** Fault: power off the first VM that serves phase-1's runtime to another, mid-serve. */
  killRuntimeHolder?: boolean;
  /** Fault: run no BitTorrent seeder on the server (clients use peers and the web seed). */
  noSeeder: boolean;
  /** Seconds between VM power-ons. */
  stagger: number;
  /** Success is a VM's console matching this (its OS runs). @default the demo OS's marker */
  expect?: RegExp;
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
  const project = await labProject(o);
  const outDir = join(o.workDir, 'out');
  const phase1Dir = join(cacheHome(), 'phase1');
  o.log('building out/ (torrents, payload, phase-1; cached between runs)');
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
  const net = await labNetwork(o, project, cleanup);
  const macs = Array.from({ length: o.vms }, (_, i) => `52:54:00:77:00:${(0x10 + i).toString(16)}`);
  const vms: Vm[] = [];
  const power = (i: number) => void vms[i]?.stop();
  const watch = new BootWatch(
    macs,
    o.log,
    o.kill && { ...o.kill, power },
    o.killRuntimeHolder ? { afterMs: 500, power } : undefined,
  );

  const serverArgs = [project.dir, '--out', outDir, '--phase1-dir', phase1Dir];
  if (o.noSeeder) serverArgs.push('--no-seeder');
  for (const r of o.hostRoots ?? []) serverArgs.push('--host-root', r);
  const server = startServerProcess(net, CLI, serverArgs);
  cleanup.defer(() => stopProcess(server.child, 5000));
  watch.follow(server.events);
  await withTimeout(
    Promise.race([server.ready, interrupted(o.signal)]),
    600_000,
    'the server did not become ready in 600 s',
  );
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
    watch.poweredOn(macs[i]!);
    vms.push(vm);
    cleanup.defer(() => vm.stop());
  }

  await watch.waitForOs(vms, o.expect ?? new RegExp(TARGET_MARKER), o.timeoutS, o.signal);
  const summary = summarize([...watch.timelines.values()]);
  await writeFile(
    join(o.workDir, 'lab-result.json'),
    JSON.stringify({ ...summary, serverLog: server.log.slice(-50) }, null, 2),
  );
  return summary;
}

/** Rejects when `signal` aborts (Ctrl+C): the caller's cleanup stack then removes everything. */
function interrupted(signal: AbortSignal | undefined): Promise<never> {
  const p = new Promise<never>((_, reject) => {
    const fail = () =>
      reject(
        new CliError(CliErrorCode.Interrupted, 'interrupted', {
          hint: 'everything the lab created was removed',
        }),
      );
    if (signal?.aborted) fail();
    signal?.addEventListener('abort', fail, { once: true });
  });
  p.catch(() => {});
  return p;
}

/** The project to boot: the one given, or the demo project written (and cached) in the work dir. */
async function labProject(o: LabOptions): Promise<Project> {
  const dir = o.projectDir ?? join(o.workDir, 'project');
  if (!o.projectDir) {
    await writeDemoProject({
      dir,
      address: '10.77.0.1',
      prefix: 24,
      timeout: o.demo.timeout,
      seedTime: o.demo.seedTime,
      padding: o.demo.padding,
      hostRoots: o.hostRoots,
    });
    await patchDemoConfig(dir, o.demo);
  }
  const loaded = await loadProject(dir);
  if (!loaded.project) {
    throw new CliError(
      CliErrorCode.Project,
      `the lab's project has problems:\n  ${loaded.errors.map(formatProblem).join('\n  ')}`,
      { hint: 'fix the project' },
    );
  }
  return loaded.project;
}

/**
 * The room's network: a namespace with a bridge holding the server address (and an IPv6 prefix),
 * a tap per VM, dnsmasq sending router advertisements only (iPXE otherwise waits ~16 s for one, see
 * lab-facts), and with --site-dhcp a second host running the site's DHCP server.
 */
async function labNetwork(o: LabOptions, project: Project, cleanup: AsyncDisposableStack): Promise<Netns> {
  const c = project.config;
  const prefix = prefixLength(c.dhcp.netmask);
  const net = await createNetns({
    prefix: 'bt-lab',
    bridge: { addresses: [`${c.general.host_ip}/${prefix}`, 'fd77::1/64'], carrier: true },
    taps: o.vms,
  });
  cleanup.defer(() => net.close());
  o.log(`network: namespace ${net.name}, bridge ${net.bridge} ${c.general.host_ip}/${prefix}, ${o.vms} taps`);
  const ra = startDnsmasq(net, { iface: net.bridge!, workDir: o.workDir, tag: 'ra', ra: true });
  cleanup.defer(() => stopProcess(ra, 5000));
  if (!o.siteDhcp) return net;
  const site = await net.addHost({
    suffix: 'site',
    port: 'site0',
    addresses: [`${hostInSubnet(c.general.host_ip, 2)}/${prefix}`],
  });
  cleanup.defer(() => site.close());
  const base = c.general.host_ip.split('.').slice(0, 3).join('.');
  const dhcp = startDnsmasq(site, {
    iface: site.iface,
    workDir: o.workDir,
    tag: 'site',
    dhcp: { start: `${base}.50`, end: `${base}.99`, netmask: c.dhcp.netmask },
  });
  cleanup.defer(() => stopProcess(dhcp, 5000));
  o.log(`site DHCP server: dnsmasq on ${site.name} (${base}.50–${base}.99)`);
  return net;
}

async function patchDemoConfig(dir: string, demo: LabOptions['demo']) {
  const path = join(dir, 'config.yaml');
  let text = await readFile(path, 'utf8');
  text = text.replace('  interface: br0\n', `  interface: br0\n  mode: ${demo.mode}\n`);
  if (!demo.tracker) text += 'tracker:\n  enable: false\n';
  await writeFile(path, text);
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
