// QEMU x86-64 VMs: direct kernel boot or PXE from a tap with their own firmware (SeaBIOS + iPXE ROM,
// or OVMF), serial console on stdio captured in memory and to a file, keys sent to it, stopped by PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { access, copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConsoleCapture } from './console.js';
import { abortedError, LabError, LabErrorCode, type Logger } from './errors.js';
import { findTool, stopProcess } from './exec.js';
import { hmp } from './monitor.js';
import { checkIfName, checkMac } from './names.js';
import type { Netns } from './netns.js';

/** OVMF firmware code (Debian package `ovmf`), mapped read-only. */
export const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
/** OVMF's variable store template; each VM boots from its own copy. */
export const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';
/** Guest RAM. 320 MB is the least a Node-carrying initramfs unpacks in (lab-facts §6). */
export const DEFAULT_MEMORY_MB = 512;
/** NIC model; virtio is up in ~0.5 s under Linux, e1000 in ~4.5 s (lab-facts §3). */
export const DEFAULT_NIC_MODEL = 'virtio-net-pci';
/** SIGTERM, then SIGKILL after this long, when the VM is stopped. */
export const DEFAULT_STOP_GRACE_MS = 3000;

/** The VM's network card. */
export interface NicOptions {
  /** Tap to attach (it lives in `netns`). Without one: QEMU's user-mode network (NAT, 10.0.2.15). */
  tap?: string;
  /** @default QEMU's 52:54:00:12:34:56 */
  mac?: string;
  /** @default DEFAULT_NIC_MODEL */
  model?: string;
  /** The NIC's option ROM; '' removes it, so OVMF's own PXE client boots instead of iPXE. @default QEMU's iPXE ROM */
  romfile?: string;
}

/** Options of {@link startVm}. */
export interface VmOptions {
  /** Names the VM in messages and its files (`<name>.vars.fd`, `<name>.monitor.sock`). @default 'vm' */
  name?: string;
  /** Direct boot: QEMU loads this kernel itself. Without it the VM network-boots from `nic`. */
  kernel?: string;
  /** Direct boot only. */
  initrd?: string;
  /** Kernel command line, direct boot only; add `console=ttyS0` to see the kernel on the console. */
  append?: string;
  /** Without one the VM has no network. */
  nic?: NicOptions;
  /** SeaBIOS (with the NIC's iPXE ROM) or OVMF on a q35 machine. @default 'bios' */
  firmware?: 'bios' | 'uefi';
  /** KVM cannot run guests on the nested hypervisors we use (lab-facts §2). @default 'tcg' */
  accel?: 'tcg' | 'kvm';
  /** @default DEFAULT_MEMORY_MB */
  memoryMb?: number;
  /** @default 1 */
  cpus?: number;
  /** Run QEMU inside this namespace (where its tap is). */
  netns?: Netns;
  /** Also write the serial console here (truncated first). */
  consoleFile?: string;
  /** Where the VM's own files go (OVMF vars, monitor socket). @default a temp dir that stop() removes */
  workDir?: string;
  /** A standard VGA card and a monitor socket, so {@link Vm.screendump} can photograph the screen. @default false */
  screen?: boolean;
  /** More QEMU arguments, appended. */
  extraArgs?: readonly string[];
  /** @default DEFAULT_STOP_GRACE_MS */
  stopGraceMs?: number;
  /** Receives the QEMU command line at debug level. */
  logger?: Logger;
  /** Aborting it stops the VM; aborted before the start, startVm rejects with LAB_ABORTED. */
  signal?: AbortSignal;
}

/** A running VM; `stop()` (= `close()`) ends QEMU by PID and is idempotent. */
export interface Vm extends AsyncDisposable {
  readonly name: string;
  readonly pid: number;
  readonly mac: string | undefined;
  readonly child: ChildProcess;
  readonly consoleFile: string | undefined;
  /** Resolves with QEMU's exit code (null when a signal ended it). */
  readonly exited: Promise<number | null>;
  /** The serial console so far (latin1: firmware prints bytes, not UTF-8). */
  output(): string;
  /** The last 4000 characters QEMU itself printed on stderr. */
  stderr(): string;
  /**
   * The first match of `re` on the console from offset `from` (default 0) on; LAB_TIMEOUT after `ms`,
   * LAB_EXITED when QEMU ends first. Both messages quote the console's tail.
   */
  waitFor(re: RegExp, ms: number, opts?: { from?: number }): Promise<RegExpMatchArray>;
  /** Types `text` on the serial console (`\r` is Enter, `\x1b[A` is the up arrow). */
  send(text: string): void;
  /** Writes the screen as a PPM image to `file` (needs `screen: true`; QEMU writes the file). */
  screendump(file: string): Promise<void>;
  /**
   * Presses `key` on the VM's PS/2 keyboard, as a person at its screen would (needs `screen: true`):
   * a QEMU key name, `ret`, `down`, `s`, or a combination such as `ctrl-c` (HMP `sendkey`).
   */
  sendKey(key: string): Promise<void>;
  stop(): Promise<void>;
  close(): Promise<void>;
}

/** The QEMU arguments for `o`, given the VM's work dir (exported for the unit tests). */
export function qemuArgs(o: VmOptions, dir: string): string[] {
  const name = o.name ?? 'vm';
  const args = ['-accel', o.accel ?? 'tcg', '-m', String(o.memoryMb ?? DEFAULT_MEMORY_MB)];
  args.push('-smp', String(o.cpus ?? 1), '-no-reboot');
  // -nographic, not -display none: only with it do SeaBIOS and iPXE print to the serial port too.
  args.push(
    '-nographic',
    '-monitor',
    o.screen ? `unix:${join(dir, `${name}.monitor.sock`)},server,nowait` : 'none',
  );
  if (o.screen) args.push('-vga', 'std');
  if (o.firmware === 'uefi') {
    args.push('-machine', 'q35', '-drive', `if=pflash,format=raw,readonly=on,file=${OVMF_CODE}`);
    args.push('-drive', `if=pflash,format=raw,file=${join(dir, `${name}.vars.fd`)}`);
  }
  if (o.kernel !== undefined) {
    args.push('-kernel', o.kernel);
    if (o.initrd !== undefined) args.push('-initrd', o.initrd);
    if (o.append !== undefined) args.push('-append', o.append);
  }
  if (o.nic) {
    const n = o.nic;
    args.push(
      '-netdev',
      n.tap === undefined ? 'user,id=n0' : `tap,id=n0,ifname=${n.tap},script=no,downscript=no`,
    );
    let dev = `${n.model ?? DEFAULT_NIC_MODEL},netdev=n0`;
    if (n.mac !== undefined) dev += `,mac=${n.mac}`;
    if (n.romfile !== undefined) dev += `,romfile=${n.romfile}`;
    if (o.kernel === undefined) dev += ',bootindex=1';
    args.push('-device', dev);
    if (o.kernel === undefined && o.firmware !== 'uefi') args.push('-boot', 'n');
  } else {
    args.push('-nic', 'none');
  }
  args.push(...(o.extraArgs ?? []));
  return args;
}

function checkOptions(o: VmOptions): void {
  const bad = (what: string, hint: string) => {
    throw new LabError(LabErrorCode.BadOption, what, { hint });
  };
  if (o.name !== undefined && !/^[A-Za-z0-9_.-]{1,40}$/.test(o.name))
    bad(`VM name "${o.name}" is not a plain name`, 'use 1-40 letters, digits, "_", "." or "-"');
  if (o.kernel === undefined && (o.initrd !== undefined || o.append !== undefined))
    bad('initrd or append given without a kernel', 'pass kernel too (they are for direct boot)');
  for (const [k, v] of [
    ['memoryMb', o.memoryMb],
    ['cpus', o.cpus],
  ] as const)
    if (v !== undefined && (!Number.isInteger(v) || v < 1))
      bad(`${k} ${v} is not a positive integer`, `e.g. ${k === 'cpus' ? 1 : 512}`);
  if (o.nic?.tap !== undefined) checkIfName(o.nic.tap, 'tap');
  if (o.nic?.mac !== undefined) checkMac(o.nic.mac, 'NIC MAC');
  if (o.nic?.tap !== undefined && o.netns === undefined)
    bad(
      `tap ${o.nic.tap} given without the namespace it lives in`,
      'pass netns (the lab never puts taps in the root namespace)',
    );
}

/**
 * Starts QEMU. Resolves once the process is spawned (not booted: wait with `waitFor`). Missing QEMU
 * or OVMF rejects with LAB_MISSING_TOOL, bad options with LAB_BAD_OPTION.
 */
export async function startVm(o: VmOptions): Promise<Vm> {
  checkOptions(o);
  if (o.signal?.aborted) throw abortedError('starting the VM', o.signal);
  const qemu = findTool('qemu-system-x86_64', { debianPackage: 'qemu-system-x86' });
  if (o.firmware === 'uefi')
    for (const f of [OVMF_CODE, OVMF_VARS])
      await access(f).catch((e: unknown) => {
        throw new LabError(LabErrorCode.MissingTool, `${f} is missing`, {
          cause: e,
          hint: 'install the Debian package ovmf',
        });
      });
  const name = o.name ?? 'vm';
  // Checked before anything is made; `XXXXXX` stands for mkdtemp's suffix.
  const monitor = join(o.workDir ?? join(tmpdir(), 'bt-vm-XXXXXX'), `${name}.monitor.sock`);
  if (o.screen && monitor.length > 107)
    throw new LabError(LabErrorCode.BadOption, `monitor socket path ${monitor} is longer than 107 bytes`, {
      hint: 'give the VM a shorter workDir',
    });
  const ownDir = o.workDir === undefined ? await mkdtemp(join(tmpdir(), 'bt-vm-')) : undefined;
  const dir = o.workDir ?? ownDir!;
  if (o.firmware === 'uefi') {
    const vars = join(dir, `${name}.vars.fd`);
    await copyFile(OVMF_VARS, vars).catch(async (e: unknown) => {
      if (ownDir) await rm(ownDir, { recursive: true, force: true });
      throw new LabError(LabErrorCode.BadOption, `cannot write the VM's UEFI variables to ${vars}`, {
        cause: e,
        hint: 'give the VM a workDir that exists and is writable',
      });
    });
  }
  const args = qemuArgs(o, dir);
  o.logger?.debug?.(`${qemu} ${args.join(' ')}`, { vm: name });
  const stdio = ['pipe', 'pipe', 'pipe'] as const;
  const child = o.netns
    ? o.netns.spawn(qemu, args, { stdio: [...stdio] })
    : spawn(qemu, args, { stdio: [...stdio] });
  let stderr = '';
  let exitCode: number | null | undefined;
  const capture = new ConsoleCapture(
    name,
    o.consoleFile,
    () =>
      `: QEMU exited (${exitCode === null ? `signal ${child.signalCode}` : exitCode})${stderr ? `, saying: ${stderr.trim().slice(-500)}` : ''}`,
  );
  child.stdout!.on('data', (d: Buffer) => capture.append(d.toString('latin1')));
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  child.stdin!.on('error', () => undefined); // keys typed after QEMU ended go nowhere
  const spawned = new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (e) =>
      reject(new LabError(LabErrorCode.Command, `${name}: QEMU did not start: ${e.message}`, { cause: e })),
    );
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve((exitCode = code))),
  );
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  void closed.then(() => capture.end());
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      o.signal?.removeEventListener('abort', onAbort);
      child.stdin!.end();
      await stopProcess(child, o.stopGraceMs ?? DEFAULT_STOP_GRACE_MS);
      await closed;
      await capture.end();
      if (ownDir) await rm(ownDir, { recursive: true, force: true });
    })());
  const onAbort = () => void stop();
  o.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await spawned;
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    name,
    pid: child.pid!,
    mac: o.nic?.mac,
    child,
    consoleFile: o.consoleFile,
    exited,
    output: () => capture.output(),
    stderr: () => stderr,
    waitFor: (re, ms, w) => capture.waitFor(re, ms, w?.from),
    send: (text) => void child.stdin!.write(text),
    async screendump(file) {
      if (!o.screen)
        throw new LabError(LabErrorCode.Monitor, `${name} has no screen to photograph`, {
          hint: 'start it with screen: true',
        });
      if (/\s/.test(file))
        throw new LabError(LabErrorCode.BadOption, `screendump path "${file}" contains whitespace`, {
          hint: "QEMU's monitor splits its arguments on spaces; pick a path without",
        });
      const said = await hmp(join(dir, `${name}.monitor.sock`), `screendump ${file}`);
      if (said !== '') throw new LabError(LabErrorCode.Monitor, `${name}: screendump ${file}: ${said}`);
    },
    async sendKey(key) {
      if (!o.screen)
        throw new LabError(LabErrorCode.Monitor, `${name} has no keyboard to type on`, {
          hint: 'start it with screen: true',
        });
      if (!/^[a-z0-9_]+(-[a-z0-9_]+)*$/i.test(key))
        throw new LabError(LabErrorCode.BadOption, `"${key}" is not a QEMU key name`, {
          hint: 'e.g. ret, down, s, ctrl-c (QEMU monitor: sendkey)',
        });
      const said = await hmp(join(dir, `${name}.monitor.sock`), `sendkey ${key}`);
      if (said !== '') throw new LabError(LabErrorCode.Monitor, `${name}: sendkey ${key}: ${said}`);
    },
    stop,
    close: stop,
    [Symbol.asyncDispose]: stop,
  };
}
