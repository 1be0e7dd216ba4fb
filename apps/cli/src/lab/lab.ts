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
import { CliError, CliErrorCode, type ArgsOf } from '../command.js';
import type { lab } from '../commands/index.js';
import { ensureLabDeps } from './deps.js';
import { startServerProcess } from './server-process.js';

/** `boottorrent lab`'s options, as parsed from its flags (commands/index.ts documents each). */
export type LabValues = ArgsOf<typeof lab>['values'];

/** What the command adds to its flags. */
export interface LabRun {
  workDir: string;
  /** Success is a VM's console matching this (its OS runs). @default the demo OS's marker */
  expect?: RegExp;
  log: (line: string) => void;
  /** Ctrl+C: stops waiting; the cleanup removes everything. */
  signal?: AbortSignal;
}

const CLI = fileURLToPath(new URL('./cli.js', import.meta.url));

/**
 * The virtual room: a namespace with a bridge, the server inside it (`boottorrent start` in a child
 * process), and N QEMU VMs on taps booting with their own firmware. Removes everything it created,
 * whatever happens.
 */
export async function runLab(v: LabValues, o: LabRun): Promise<LabSummary> {
  const hostRoots = v['host-root'];
  await ensureLabDeps({ uefi: v.uefi, install: v['install-deps'], hostRoots, log: o.log });
  await mkdir(o.workDir, { recursive: true });
  const project = await labProject(v, o.workDir);
  const outDir = join(o.workDir, 'out');
  const phase1Dir = join(cacheHome(), 'phase1');
  o.log('building out/ (torrents, payload, phase-1; cached between runs)');
  await buildOut({
    project,
    outDir,
    phase1Dir,
    hostRoots,
    onProgress: (e) => {
      if (e.step === 'done') o.log(`  ${e.what}: ${e.cached ? 'up to date' : `${e.ms} ms`}`);
    },
  });

  await using cleanup = new AsyncDisposableStack();
  const c = project.config;
  const room = await createRoom({
    address: `${c.general.host_ip}/${prefixLength(c.dhcp.netmask)}`,
    vms: v.vms,
    workDir: o.workDir,
    siteDhcp: v['site-dhcp'],
    logger: { info: o.log },
  });
  cleanup.defer(() => room.close());
  const vms: Vm[] = [];
  const power = (i: number) => void vms[i]?.stop();
  const watch = new BootWatch({
    macs: room.macs,
    logger: { info: o.log },
    kill: v['kill-vm'] === undefined ? undefined : { index: v['kill-vm'], atProgress: 0.3, power },
    killHolder: v['kill-runtime-holder'] ? { afterMs: 500, power } : undefined,
  });

  const serverArgs = [project.dir, '--out', outDir, '--phase1-dir', phase1Dir];
  if (v['no-seeder']) serverArgs.push('--no-seeder');
  for (const r of hostRoots) serverArgs.push('--host-root', r);
  const server = startServerProcess(room.netns, CLI, serverArgs, { signal: o.signal, readyMs: 600_000 });
  cleanup.defer(() => stopProcess(server.child, 5000));
  server.events.on('event', (e) => {
    if (e.type === 'lease' || e.type === 'client' || e.type === 'runtime') watch.event(e);
  });
  await server.ready;
  const accel = v.kvm ? 'kvm' : 'tcg';
  o.log(
    `server ready in ${room.netns.name}; powering on ${v.vms} VM${v.vms === 1 ? '' : 's'} (${v.uefi ? 'UEFI/OVMF' : 'BIOS/SeaBIOS'} + iPXE, ${accel})`,
  );

  for (let i = 0; i < v.vms; i++) {
    if (i > 0 && v.stagger > 0) await sleep(v.stagger * 1000);
    const vm = await startVm({
      name: `vm${i}`,
      ...room.vmNetwork(i, v.nic),
      workDir: o.workDir,
      consoleFile: join(o.workDir, `vm${i}.serial.log`),
      memoryMb: v.memory,
      firmware: v.uefi ? 'uefi' : 'bios',
      accel,
    });
    watch.poweredOn(room.macs[i]!);
    vms.push(vm);
    cleanup.defer(() => vm.stop());
  }

  await watch.waitForOs(vms, o.expect ?? new RegExp(DEMO_MARKER), v.timeout, o.signal);
  const summary = summarize([...watch.timelines.values()]);
  await writeFile(
    join(o.workDir, 'lab-result.json'),
    JSON.stringify({ ...summary, serverLog: server.log.slice(-50) }, null, 2),
  );
  return summary;
}

/** The project to boot: the one given, or the demo project written (and cached) in the work dir. */
async function labProject(v: LabValues, workDir: string): Promise<Project> {
  const dir = v.project ?? join(workDir, 'project');
  if (!v.project) {
    await writeDemoProject({
      dir,
      address: '10.77.0.1',
      netmask: '255.255.255.0',
      dhcpMode: v.mode,
      tracker: !v['no-tracker'],
      timeout: v['menu-timeout'],
      seedTime: v['seed-time'],
      padding: v['padding-mib'] * 1024 * 1024,
      hostRoots: v['host-root'],
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
