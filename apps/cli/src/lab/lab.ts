import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatProblem, loadProject, prefixLength, type Project } from '@boottorrent/config';
import {
  BootWatch,
  createRoom,
  startVm,
  stopProcess,
  summarize,
  type LabSummary,
  type Vm,
} from '@boottorrent/lab';
import { buildOut, cacheHome, DEMO_MARKER, writeDemoProject } from '@boottorrent/server';
import { CliError, CliErrorCode } from '../command.js';
import { ensureLabDeps } from './deps.js';
import { startServerProcess } from './server-process.js';

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
  const c = project.config;
  const room = await createRoom({
    address: `${c.general.host_ip}/${prefixLength(c.dhcp.netmask)}`,
    vms: o.vms,
    workDir: o.workDir,
    siteDhcp: o.siteDhcp,
    logger: { info: o.log },
  });
  cleanup.defer(() => room.close());
  const vms: Vm[] = [];
  const power = (i: number) => void vms[i]?.stop();
  const watch = new BootWatch({
    macs: room.macs,
    logger: { info: o.log },
    kill: o.kill && { ...o.kill, power },
    killHolder: o.killRuntimeHolder ? { afterMs: 500, power } : undefined,
  });

  const serverArgs = [project.dir, '--out', outDir, '--phase1-dir', phase1Dir];
  if (o.noSeeder) serverArgs.push('--no-seeder');
  for (const r of o.hostRoots ?? []) serverArgs.push('--host-root', r);
  const server = startServerProcess(room.netns, CLI, serverArgs);
  cleanup.defer(() => stopProcess(server.child, 5000));
  server.events.on('event', (e) => {
    if (e.type === 'lease' || e.type === 'client' || e.type === 'runtime') watch.event(e);
  });
  await withTimeout(
    Promise.race([server.ready, interrupted(o.signal)]),
    600_000,
    'the server did not become ready in 600 s',
  );
  o.log(
    `server ready in ${room.netns.name}; powering on ${o.vms} VM${o.vms === 1 ? '' : 's'} (${o.uefi ? 'UEFI/OVMF' : 'BIOS/SeaBIOS'} + iPXE, ${o.accel})`,
  );

  for (let i = 0; i < o.vms; i++) {
    if (i > 0 && o.stagger > 0) await sleep(o.stagger * 1000);
    const vm = await startVm({
      name: `vm${i}`,
      ...room.vmNetwork(i, o.nic),
      workDir: o.workDir,
      consoleFile: join(o.workDir, `vm${i}.serial.log`),
      memoryMb: o.memoryMb,
      firmware: o.uefi ? 'uefi' : 'bios',
      accel: o.accel,
    });
    watch.poweredOn(room.macs[i]!);
    vms.push(vm);
    cleanup.defer(() => vm.stop());
  }

  await watch.waitForOs(vms, o.expect ?? new RegExp(DEMO_MARKER), o.timeoutS, o.signal);
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
      netmask: '255.255.255.0',
      dhcpMode: o.demo.mode,
      tracker: o.demo.tracker,
      timeout: o.demo.timeout,
      seedTime: o.demo.seedTime,
      padding: o.demo.padding,
      hostRoots: o.hostRoots,
    });
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
