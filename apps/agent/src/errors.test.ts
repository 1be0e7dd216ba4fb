import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ManifestOs } from '@boottorrent/config';
import { describe, expect, it } from 'vitest';
import { AgentError, AgentErrorCode, describeError } from './errors.js';
import { checkRam } from './fetch-os.js';

describe('AgentError', () => {
  it('carries code, hint and cause', () => {
    const cause = new Error('spawn kexec ENOENT');
    const e = new AgentError(AgentErrorCode.LoadFailed, 'cannot run kexec', {
      cause,
      hint: 'install kexec-tools',
    });
    expect(e).toBeInstanceOf(Error);
    expect(e).toMatchObject({ name: 'AgentError', code: 'AGENT_LOAD_FAILED', hint: 'install kexec-tools' });
    expect(e.cause).toBe(cause);
  });

  it('has an empty hint and no cause when none are given', () => {
    const e = new AgentError(AgentErrorCode.BadOs, 'x points outside the OS folder');
    expect(e.hint).toBe('');
    expect('cause' in e).toBe(false);
  });

  it('prefixes every code with AGENT_', () => {
    for (const code of Object.values(AgentErrorCode)) expect(code).toMatch(/^AGENT_[A-Z_]+$/);
  });
});

describe('describeError', () => {
  it('shows the hint of any error that has one after a dash, and the message alone otherwise', () => {
    expect(describeError(new AgentError(AgentErrorCode.NoRam, 'too big', { hint: 'pick another' }))).toBe(
      'too big — pick another',
    );
    // another package's error, recognised by shape
    expect(
      describeError(Object.assign(new Error('cannot listen'), { code: 'SEEDER_BIND', hint: 'port 0' })),
    ).toBe('cannot listen — port 0');
    expect(describeError(new AgentError(AgentErrorCode.LoadFailed, 'kexec -e returned'))).toBe(
      'kexec -e returned',
    );
    expect(describeError('plain')).toBe('plain');
  });
});

describe('checkRam', () => {
  it('refuses an OS that does not fit with AGENT_NO_RAM and a hint', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bt-agent-ram-'));
    try {
      const meminfo = join(dir, 'meminfo');
      await writeFile(meminfo, 'MemTotal: 1000000 kB\nMemAvailable: 800000 kB\n');
      const os = { name: 'big', dispname: 'Big OS', method: 'bin', size: 2 * 1024 ** 3 } as ManifestOs;
      await expect(checkRam(os, meminfo)).rejects.toMatchObject({
        code: 'AGENT_NO_RAM',
        message: expect.stringMatching(
          /^not enough RAM for Big OS \(bin\): it needs 2\.1 GiB \(files 2\.0 GiB \+ margin 96\.0 MiB\), this machine has 781\.3 MiB available$/,
        ),
        hint: 'pick a smaller OS or give this machine more RAM',
      });
      await expect(checkRam({ ...os, size: 1024 }, meminfo)).resolves.toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
