/**
 * The blksize clamp to the path MTU, for real: inside a network namespace whose loopback has a
 * 1500-byte MTU (the root namespace is never touched), a client asking for 8192 gets 1468, the
 * largest block that fits one unfragmented IPv4 datagram, and the download is byte-exact.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { run, sha256, tempRoot, tool } from './helpers.js';

const ns = `bttftp-${randomBytes(3).toString('hex')}`;
const root = tempRoot('bt-tftp-mtu-');
const fixture = fileURLToPath(new URL('../fixtures/mtu-server.mjs', import.meta.url));
let child: ChildProcess | undefined;
let hash: string;

beforeAll(() => {
  const ip = tool('ip');
  if (!existsSync(fileURLToPath(new URL('../../dist/index.js', import.meta.url)))) {
    throw new Error('packages/tftp/dist is missing: run "npx nx build @boottorrent/tftp" first');
  }
  hash = root.file('f', 300_000);
  execFileSync(ip, ['netns', 'add', ns]);
  execFileSync(ip, ['-n', ns, 'link', 'set', 'lo', 'mtu', '1500']);
  execFileSync(ip, ['-n', ns, 'link', 'set', 'lo', 'up']);
});
afterAll(() => {
  if (child?.pid && child.exitCode === null) child.kill('SIGKILL');
  try {
    execFileSync(tool('ip'), ['netns', 'del', ns]);
  } catch {
    // already gone
  }
  root.cleanup();
});

it('clamps blksize to the MTU of the interface towards the client (1500 → 1468)', async () => {
  child = spawn(tool('ip'), ['netns', 'exec', ns, process.execPath, fixture, root.dir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: Record<string, unknown>[] = [];
  let onLine: () => void = () => undefined;
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf('\n'); i !== -1; i = buf.indexOf('\n')) {
      lines.push(JSON.parse(buf.slice(0, i)) as Record<string, unknown>);
      buf = buf.slice(i + 1);
      onLine();
    }
  });
  const waitFor = (key: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no ${key} from the server in the namespace`)), 20_000);
      const check = () => {
        const hit = lines.find((l) => key in l);
        if (hit) {
          clearTimeout(t);
          resolve(hit);
        }
      };
      onLine = check;
      check();
    });
  const { port } = (await waitFor('port')) as { port: number };
  const local = join(root.dir, 'got');
  const r = await run(tool('ip'), [
    'netns',
    'exec',
    ns,
    tool('curl'),
    '-sS',
    '--fail',
    '--tftp-blksize',
    '8192',
    '-o',
    local,
    `tftp://127.0.0.1:${port}/f`,
  ]);
  expect(r.code, r.stderr).toBe(0);
  expect(sha256(readFileSync(local))).toBe(hash);
  const { start } = (await waitFor('start')) as { start: { options: { blksize: number } } };
  expect(start.options.blksize).toBe(1468);
}, 60_000);
