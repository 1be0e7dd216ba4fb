import { spawn } from 'node:child_process';
import { closeSync, constants, createReadStream, createWriteStream, openSync } from 'node:fs';
import { chmod, rm } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { basename, join, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ManifestOs } from '@boottorrent/config';
import { AgentError, AgentErrorCode } from './errors.js';
import { oneLine } from './format.js';

/** A path from the manifest, kept inside the OS folder (a manifest never points outside it). */
export function inside(osDir: string, rel: string): string {
  const p = resolve(osDir, rel);
  if (p !== resolve(osDir) && !p.startsWith(resolve(osDir) + sep)) {
    throw new AgentError(AgentErrorCode.BadOs, `${rel} points outside the OS folder`);
  }
  return p;
}

/**
 * Runs a program on the console and resolves with its exit code (or rejects when it cannot start).
 * With `tty` (a device such as /dev/tty1) the program runs there in a session of its own, with the tty
 * as its controlling terminal (busybox `setsid -c`), so Ctrl+C and job control work on the screen the
 * user chose; without, it inherits the agent's stdio.
 */
export function runOnConsole(cmd: string, args: string[], cwd: string, tty?: string): Promise<number> {
  return new Promise((resolveP, reject) => {
    let fd: number | undefined;
    try {
      // A description of its own: the agent's readers are non-blocking, a shell expects blocking reads.
      if (tty) fd = openSync(tty, constants.O_RDWR | constants.O_NOCTTY);
    } catch (err) {
      reject(new AgentError(AgentErrorCode.LoadFailed, `cannot open ${tty}: ${(err as Error).message}`));
      return;
    }
    const child =
      fd === undefined
        ? spawn(cmd, args, { cwd, stdio: 'inherit' })
        : spawn('setsid', ['-c', cmd, ...args], { cwd, stdio: [fd, fd, fd] });
    if (fd !== undefined) closeSync(fd);
    child.once('error', (err) =>
      reject(
        new AgentError(AgentErrorCode.LoadFailed, `cannot start ${cmd}: ${err.message}`, { cause: err }),
      ),
    );
    // Killed by a signal: the shell convention, 128 + its number (Ctrl+C gives 130).
    child.once('exit', (code, signal) =>
      resolveP(code ?? 128 + (signal ? (osConstants.signals[signal] ?? 0) : 0)),
    );
  });
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolveP, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', (e) =>
      reject(new AgentError(AgentErrorCode.LoadFailed, `cannot run ${cmd}: ${e.message}`, { cause: e })),
    );
    child.once('exit', (code, signal) =>
      code === 0
        ? resolveP()
        : reject(
            new AgentError(
              AgentErrorCode.LoadFailed,
              `${basename(cmd)} ${args[0] ?? ''} failed: ${oneLine(err) || (signal ? `killed by ${signal}` : `exit ${code}`)}`,
            ),
          ),
    );
  });
}

/** Joins initrds into one file (the kernel unpacks concatenated archives) for kexec's single --initrd. */
async function joinInitrds(osDir: string, initrds: string[]): Promise<string | undefined> {
  if (initrds.length === 0) return undefined;
  if (initrds.length === 1) return inside(osDir, initrds[0]!);
  const out = join(osDir, '..', `.${Date.now()}-initrd`);
  const ws = createWriteStream(out);
  for (const rel of initrds) await pipeline(createReadStream(inside(osDir, rel)), ws, { end: false });
  await new Promise<void>((r, j) => ws.end((e?: Error | null) => (e ? j(e) : r())));
  return out;
}

/** Tools the loaders run; overridable so tests can point at real binaries elsewhere. */
export interface LoaderTools {
  /** @default "kexec" */
  kexec?: string;
  /** @default "qemu-system-x86_64" */
  qemu?: string;
}

/**
 * Starts the chosen OS. kexec: `kexec -l` (kernel, joined initrds, cmdline) then `kexec -e`, which
 * does not return. bin: the file made executable and run with its args in the OS folder. qemu:
 * qemu-system-x86_64 with the OS's args in its folder, on the console (`tty`: the one the user chose,
 * see {@link runOnConsole}). Resolves with the exit code of bin/qemu; rejects with AgentError.
 */
export async function loadOs(
  os: ManifestOs,
  osDir: string,
  tools: LoaderTools = {},
  /** Called once the OS is about to start (after `kexec -l` succeeded): the last moment to report. */
  beforeStart: () => Promise<void> = async () => {},
  tty?: string,
): Promise<number> {
  if (os.method === 'kexec') {
    if (!os.kexec)
      throw new AgentError(AgentErrorCode.BadOs, `${os.name}: method kexec without a kexec section`);
    const kernel = inside(osDir, os.kexec.kernel);
    const initrd = await joinInitrds(osDir, os.kexec.initrds);
    const kexec = tools.kexec ?? 'kexec';
    try {
      await run(kexec, [
        '-l',
        kernel,
        ...(initrd ? [`--initrd=${initrd}`] : []),
        `--command-line=${os.kexec.cmdline}`,
      ]);
      await beforeStart();
      await run(kexec, ['-e']);
      throw new AgentError(AgentErrorCode.LoadFailed, 'kexec -e returned');
    } finally {
      // Only reached when loading failed: the joined copy would otherwise hold RAM in the tmpfs.
      if (initrd && os.kexec.initrds.length > 1) await rm(initrd, { force: true });
    }
  }
  if (os.method === 'bin') {
    if (!os.bin) throw new AgentError(AgentErrorCode.BadOs, `${os.name}: method bin without a bin section`);
    const bin = inside(osDir, os.bin.bin);
    await chmod(bin, 0o755);
    await beforeStart();
    return runOnConsole(bin, os.bin.args, osDir, tty);
  }
  if (!os.qemu) throw new AgentError(AgentErrorCode.BadOs, `${os.name}: method qemu without a qemu section`);
  await beforeStart();
  return runOnConsole(tools.qemu ?? 'qemu-system-x86_64', os.qemu.args, osDir, tty);
}
