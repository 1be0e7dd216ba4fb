import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  API_TOKEN_FILE,
  ConfigError,
  configJsonSchema,
  ensureApiToken,
  initProject,
  loadProject,
} from '../../src/index.js';

let dir: string;
/** what each test made under the temp dir, removed after it (a subfolder alone left its parent behind) */
let made: string | undefined;
afterEach(async () => {
  if (made) await rm(made, { recursive: true, force: true });
  made = undefined;
});
const tempDir = async (): Promise<string> => (made = await mkdtemp(join(tmpdir(), 'bt-init-')));

describe('initProject', () => {
  it('creates a project that loads without problems', async () => {
    dir = join(await tempDir(), 'lab1');
    const r = await initProject(dir, { hostIp: '10.77.0.1', interface: 'br0' });
    expect(r.files).toContain('config.yaml');
    const loaded = await loadProject(dir);
    expect(loaded.errors).toEqual([]);
    expect(loaded.project!.config.general.host_ip).toBe('10.77.0.1');
    expect(loaded.project!.config.dhcp).toMatchObject({
      interface: 'br0',
      range: { start: '10.77.0.100', end: '10.77.0.199' },
    });
    expect(loaded.project!.oss.map((o) => o.name)).toEqual(['hello']);
  });

  it('writes a commented config.yaml that points editors at the shipped JSON Schema', async () => {
    dir = await tempDir();
    await initProject(dir);
    const text = await readFile(join(dir, 'config.yaml'), 'utf8');
    expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=.schema/config.schema.json');
    expect(text).toContain(
      '  # Announce interval in seconds: short, so peers find each other at once.\n  interval: 5\n',
    );
    const schema = JSON.parse(await readFile(join(dir, '.schema/config.schema.json'), 'utf8'));
    expect(schema).toEqual(configJsonSchema());
    expect(await readFile(join(dir, 'oss/README.md'), 'utf8')).toContain('## method: kexec');
  });

  it('writes the API token readable by its owner only, and ensureApiToken reads it back', async () => {
    dir = await tempDir();
    const r = await initProject(join(dir, 'p'));
    expect(r.files).toContain(API_TOKEN_FILE);
    const file = join(dir, 'p', API_TOKEN_FILE);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const token = (await readFile(file, 'utf8')).trim();
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    expect(await ensureApiToken(join(dir, 'p'))).toEqual({ token, file, created: false });
    // A project from before tokens existed gets one on demand.
    await rm(file);
    const again = await ensureApiToken(join(dir, 'p'));
    expect(again.created).toBe(true);
    expect(again.token).not.toBe(token);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('writes a commented machines: example that loads once uncommented', async () => {
    dir = join(await tempDir(), 'm');
    await initProject(dir);
    const text = await readFile(join(dir, 'config.yaml'), 'utf8');
    expect(text).toContain('\n# machines:\n#   - mac: 52:54:00:12:34:56');
    await writeFile(
      join(dir, 'config.yaml'),
      text.replace('\n# machines:', '\nmachines:').replaceAll(/^# {3}( *)/gm, '  $1'),
    );
    const loaded = await loadProject(dir);
    expect(loaded.errors).toEqual([]);
    expect(loaded.project!.config.machines.map((m) => m.mac)).toEqual([
      '52:54:00:12:34:56',
      ['52:54:00:00:00:01', '52:54:00:00:00:02'],
      '52:54:00:*',
    ]);
  });

  it('refuses a non-empty directory and touches nothing', async () => {
    dir = await tempDir();
    await writeFile(join(dir, 'keep.txt'), 'mine');
    await expect(initProject(dir)).rejects.toMatchObject({
      code: 'CONFIG_NOT_EMPTY',
      hint: 'pick a new or empty directory',
    });
    await expect(initProject(dir)).rejects.toBeInstanceOf(ConfigError);
    expect(await readdir(dir)).toEqual(['keep.txt']);
  });

  it('rejects a host IP that is not IPv4', async () => {
    dir = await tempDir();
    await expect(initProject(join(dir, 'x'), { hostIp: '10.0.0' })).rejects.toMatchObject({
      code: 'CONFIG_BAD_OPTION',
      hint: 'pass e.g. --host-ip 10.0.0.1',
    });
  });
});
