import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { machineSchema, type Project } from '@boottorrent/config';
import { afterEach, describe, expect, it } from 'vitest';
import { checkToken } from './auth.js';
import { MACHINES_STATE_FILE, MachinePlans } from './machines.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** A project with just what the plans read: its folder, `machines:` and the OS names. */
async function project(machines: unknown[]): Promise<Project> {
  const dir = await mkdtemp(join(tmpdir(), 'bt-plans-'));
  dirs.push(dir);
  return {
    dir,
    oss: [{ name: 'deb' }, { name: 'win' }],
    config: { machines: machines.map((m) => machineSchema.parse(m)) },
  } as unknown as Project;
}

describe('MachinePlans', () => {
  it('gives no plan and no boot words to a machine nothing names', async () => {
    const plans = await MachinePlans.open(await project([{ mac: '52:54:00:*', os: 'deb' }]));
    expect(plans.planFor('52:55:00:00:00:01')).toBeNull();
    expect(plans.bootArgs('52:55:00:00:00:01')).toBe('');
    expect(plans.bootArgs('52:54:00:00:00:01')).toBe('bt.os=deb bt.menu=1');
  });

  it('writes bt.menu=1 for a plan without an OS, so the agent knows the script carried a plan', async () => {
    const plans = await MachinePlans.open(await project([]));
    await plans.set('52:54:00:00:00:09', { menu: true });
    expect(plans.bootArgs('52:54:00:00:00:09')).toBe('bt.menu=1');
  });

  it('writes bt.menu=0 without an OS (the default boots at once) and the extras last', async () => {
    const plans = await MachinePlans.open(
      await project([{ mac: '52:54:00:00:00:01', menu: false, cmdline: ' quiet  nomodeset ' }]),
    );
    expect(plans.bootArgs('52:54:00:00:00:01')).toBe('bt.menu=0 bt.extra quiet  nomodeset');
  });

  it('drops a saved OS the project no longer has, saying so', async () => {
    const p = await project([]);
    await writeFile(
      join(p.dir, MACHINES_STATE_FILE),
      JSON.stringify({ version: 1, machines: { '52:54:00:00:00:01': { os: 'gone', menu: false } } }),
    );
    const warnings: string[] = [];
    const plans = await MachinePlans.open(p, (w) => warnings.push(w));
    expect(plans.planFor('52:54:00:00:00:01')).toMatchObject({ os: null, menu: false });
    expect(warnings).toEqual([
      'machines.state.json: 52:54:00:00:00:01 was set to boot "gone", which is no longer in oss/; ignored',
    ]);
  });

  it('refuses a state file that is not JSON with SERVER_BAD_OPTION and a hint', async () => {
    const p = await project([]);
    await writeFile(join(p.dir, MACHINES_STATE_FILE), '{ nope');
    await expect(MachinePlans.open(p)).rejects.toMatchObject({
      code: 'SERVER_BAD_OPTION',
      hint: expect.stringContaining('fix it or delete it'),
    });
  });

  it('saves every change in order, and an empty override removes the machine', async () => {
    const p = await project([]);
    const plans = await MachinePlans.open(p);
    await Promise.all([
      plans.set('52:54:00:00:00:01', { os: 'deb' }),
      plans.set('52:54:00:00:00:02', { os: 'win', cmdline: 'x=1' }),
      plans.set('52:54:00:00:00:01', {}),
    ]);
    const saved = JSON.parse(await readFile(join(p.dir, MACHINES_STATE_FILE), 'utf8'));
    expect(Object.keys(saved.machines)).toEqual(['52:54:00:00:00:02']);
    expect((await MachinePlans.open(p)).list().map((m) => [m.mac, m.os, m.cmdline])).toEqual([
      ['52:54:00:00:00:02', 'win', 'x=1'],
    ]);
  });

  it('keeps the previous override when the state file cannot be written', async () => {
    const p = await project([]);
    const plans = await MachinePlans.open(p);
    await plans.set('52:54:00:00:00:01', { os: 'deb' });
    await rm(p.dir, { recursive: true }); // the project folder is gone: the write fails
    await expect(plans.set('52:54:00:00:00:01', { os: 'win' })).rejects.toMatchObject({
      code: 'SERVER_START',
      message: expect.stringContaining(`cannot save ${join(p.dir, MACHINES_STATE_FILE)}`),
    });
    expect(plans.planFor('52:54:00:00:00:01')?.os).toBe('deb');
  });
});

describe('checkToken', () => {
  const token = 'a'.repeat(64);
  it('accepts only "Bearer <token>", any case of the scheme', () => {
    expect(checkToken(`Bearer ${token}`, token)).toBeNull();
    expect(checkToken(`bearer ${token}`, token)).toBeNull();
    expect(checkToken(undefined, token)).toBe('missing token');
    expect(checkToken(token, token)).toBe('missing token');
    expect(checkToken(`Bearer ${token}x`, token)).toBe('wrong token');
    expect(checkToken(`Bearer ${token.slice(1)}`, token)).toBe('wrong token');
    expect(checkToken('Bearer ', token)).toBe('missing token');
  });
});
