// Running the host tools the lab drives (ip, tc, qemu-system-x86_64) and ending what it started.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { abortedError, LabError, LabErrorCode, type Logger } from './errors.js';

/** Options of {@link runCommand}. */
export interface RunOptions {
  /** Ends the command (SIGKILL) and rejects with LAB_ABORTED. */
  signal?: AbortSignal;
  /** Ends the command (SIGKILL) after this long and rejects with LAB_COMMAND. @default no limit */
  timeoutMs?: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Receives each command line at debug level. */
  logger?: Logger;
}

/** What a failed command's stderr says when the cause is missing privileges. */
const PERMISSION = /Operation not permitted|Permission denied|must be root/i;

/**
 * Runs `cmd args` to completion and resolves with its stdout. A non-zero exit rejects with LAB_COMMAND
 * quoting the last lines of stderr; a command that is not installed rejects with LAB_MISSING_TOOL.
 */
export function runCommand(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  const line = [cmd, ...args].join(' ');
  opts.logger?.debug?.(line);
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) return reject(abortedError(line, opts.signal));
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: opts.cwd, env: opts.env });
    let stdout = '';
    let stderr = '';
    let ended: LabError | undefined;
    const kill = (why: LabError) => {
      ended = why;
      child.kill('SIGKILL');
    };
    const onAbort = () => kill(abortedError(line, opts.signal!));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(
            () => kill(new LabError(LabErrorCode.Command, `${line}: no answer in ${opts.timeoutMs} ms`)),
            opts.timeoutMs,
          );
    const done = () => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    };
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (e: NodeJS.ErrnoException) => {
      done();
      reject(
        e.code === 'ENOENT'
          ? new LabError(LabErrorCode.MissingTool, `${cmd} is not installed (running ${line})`, {
              cause: e,
              hint: 'install it (tools/setup.sh installs what the lab needs)',
            })
          : new LabError(LabErrorCode.Command, `${line}: ${e.message}`, { cause: e }),
      );
    });
    child.on('close', (code) => {
      done();
      if (ended) return reject(ended);
      if (code === 0) return resolve(stdout);
      const said = stderr.trim().split('\n').slice(-2).join(' ');
      reject(
        new LabError(LabErrorCode.Command, `${line}: exit ${code}: ${said}`, {
          hint: PERMISSION.test(said) ? 'network namespaces, bridges and taps need root' : '',
        }),
      );
    });
  });
}

/**
 * Ends a child this process started, by its PID: SIGTERM, then SIGKILL after `graceMs`. Resolves when
 * it is gone (at once when it already is). Never signals anything by name.
 */
export function stopProcess(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined)
    return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Where {@link findTool} looks besides PATH: root's tools (ip, dnsmasq, dhclient) live there. */
const SBIN = ['/usr/sbin', '/sbin', '/usr/bin', '/bin'];

/**
 * The absolute path of an installed tool: the first executable of `paths`, else `name` on PATH or in
 * /usr/sbin, /sbin. Throws LAB_MISSING_TOOL naming the Debian package when there is none, so a test
 * that needs it fails instead of skipping.
 */
export function findTool(
  name: string,
  opts: { paths?: readonly string[]; debianPackage?: string } = {},
): string {
  const candidates = [
    ...(opts.paths ?? []),
    ...[...(process.env.PATH ?? '').split(':').filter(Boolean), ...SBIN].map((d) => join(d, name)),
  ];
  for (const p of candidates) {
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  const pkg = opts.debianPackage ? `the Debian package ${opts.debianPackage}` : `${name}`;
  throw new LabError(LabErrorCode.MissingTool, `${name} not found on PATH or in /usr/sbin, /sbin`, {
    hint: `install ${pkg} (tools/setup.sh installs what the lab and the tests need)`,
  });
}
