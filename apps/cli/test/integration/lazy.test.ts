import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../bin/boottorrent.mjs', import.meta.url));
const RECORDER = fileURLToPath(new URL('../fixtures/record-loads.mjs', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'bt-lazy-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs the installed executable and returns every module URL it loaded. */
function loads(args: string[]) {
  const file = join(tmp, `loads-${args.join('_').replace(/[^\w-]/g, '')}.txt`);
  const r = spawnSync(process.execPath, ['--import', RECORDER, BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, BT_LOADS_FILE: file, NO_COLOR: '1' },
    timeout: 60_000,
  });
  const urls = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  return { code: r.status, stderr: r.stderr, urls };
}

/** Modules from a dependency or a workspace package: the heavy part the help must not pay for. */
const packages = (urls: string[]) => urls.filter((u) => /\/node_modules\/|\/packages\//.test(u));

describe('help and version load no package', () => {
  it.each([
    '--help',
    '--version',
    'version',
    'init --help',
    'check --help',
    'build --help',
    'start --help',
    'lab --help',
    'help start',
  ])('boottorrent %s', (line) => {
    const r = loads(line.split(' '));
    expect(r.code).toBe(0);
    expect(r.urls.some((u) => u.endsWith('/dist/cli.js'))).toBe(true);
    expect(packages(r.urls)).toEqual([]);
  });

  it('the recorder sees the seeder and webtorrent when a command does load them', () => {
    // start loads the server, hence the seeder and webtorrent (bundled into the seeder's dist or
    // from node_modules), before it finds no project here.
    const r = loads(['start', join(tmp, 'no-such-project')]);
    expect(r.stderr).toContain('boottorrent: ');
    expect(r.urls.some((u) => /\/seeder\/dist\/|\/node_modules\/webtorrent\//.test(u))).toBe(true);
  });
});
