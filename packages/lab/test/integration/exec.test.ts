// runCommand, stopProcess and findTool against real processes.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { findTool, runCommand, stopProcess } from '../../src/index.js';

describe('runCommand', () => {
  it("resolves with the command's stdout", async () => {
    expect(await runCommand('sh', ['-c', 'echo hello; echo noise >&2'])).toBe('hello\n');
  });

  it('rejects a non-zero exit with LAB_COMMAND quoting stderr', async () => {
    await expect(
      runCommand('sh', ['-c', 'echo first >&2; echo "no such device" >&2; exit 3']),
    ).rejects.toMatchObject({
      code: 'LAB_COMMAND',
      message: expect.stringMatching(/exit 3: first no such device$/),
    });
  });

  it('rejects a missing command with LAB_MISSING_TOOL', async () => {
    await expect(runCommand('bt-no-such-tool', [])).rejects.toMatchObject({ code: 'LAB_MISSING_TOOL' });
  });

  it('ends the command and rejects with LAB_ABORTED when the signal fires', async () => {
    const ac = new AbortController();
    const p = runCommand('sleep', ['30'], { signal: ac.signal });
    ac.abort();
    await expect(p).rejects.toMatchObject({ code: 'LAB_ABORTED' });
  });
});

describe('stopProcess', () => {
  it('ends a child with SIGTERM', async () => {
    const child = spawn('sleep', ['30']);
    await new Promise((r) => child.once('spawn', r));
    await stopProcess(child);
    expect(child.signalCode).toBe('SIGTERM');
    await stopProcess(child); // already gone: resolves at once
  });

  it('kills a child that ignores SIGTERM once the grace time is over', async () => {
    const child = spawn('sh', ['-c', 'trap "" TERM; echo ready; while :; do sleep 1; done'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    await new Promise((r) => child.stdout!.once('data', r));
    await stopProcess(child, 200);
    expect(child.signalCode).toBe('SIGKILL');
  });
});

describe('findTool', () => {
  it('finds root tools outside PATH too', () => {
    expect(findTool('ip')).toMatch(/\/ip$/);
    expect(findTool('sh', { paths: ['/nonexistent/sh'] })).toMatch(/\/sh$/);
  });

  it('names the Debian package of a missing tool', () => {
    expect(() => findTool('bt-no-such-tool', { debianPackage: 'bt-pkg' })).toThrow(
      expect.objectContaining({ code: 'LAB_MISSING_TOOL', hint: expect.stringContaining('bt-pkg') }),
    );
  });
});
