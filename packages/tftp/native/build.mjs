#!/usr/bin/env node
// Builds the optional native wire (native/wire.c → build/Release/tftp_wire.node) with node-gyp.
//
//   node native/build.mjs             the package's build: a failure prints node-gyp's output and one
//                                     line, exits 0 (the server then uses node:dgram; CI's test of the
//                                     native wire fails instead)
//   node native/build.mjs --install   npm's install script: on failure one line only, exit 0
//
// node-gyp: the one npm runs scripts with (npm_config_node_gyp), else the one bundled with npm. Headers:
// node-gyp's own (npm_config_nodedir or its cache), else the distribution's /usr/include/node (Node-API
// is ABI-stable, so any Node ≥ 18's headers build an addon for this one); nothing is downloaded when
// those are there.
import { spawnSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const install = process.argv.includes('--install');
const say = (line) => process.stderr.write(`@boottorrent/tftp: ${line}\n`);

function nodeGyp() {
  const candidates = [process.env.npm_config_node_gyp];
  if (process.env.npm_execpath)
    candidates.push(join(dirname(process.env.npm_execpath), '../node_modules/node-gyp/bin/node-gyp.js'));
  const npm = spawnSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).stdout?.trim();
  if (npm) candidates.push(join(dirname(realpathSync(npm)), '../node_modules/node-gyp/bin/node-gyp.js'));
  return candidates.find((c) => c && existsSync(c));
}

function headerArgs() {
  if (process.env.npm_config_nodedir) return [];
  const cached = join(homedir(), '.cache/node-gyp', process.versions.node, 'include/node/node_api.h');
  if (existsSync(cached)) return [];
  return existsSync('/usr/include/node/node_api.h') ? ['--nodedir=/usr'] : [];
}

const gyp = nodeGyp();
const fallback = 'the server will use node:dgram for transfers';
if (!gyp) {
  say(`native wire not built: node-gyp not found (it comes with npm); ${fallback}`);
  process.exit(0);
}
const r = spawnSync(process.execPath, [gyp, 'rebuild', ...headerArgs()], {
  cwd: pkg,
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'pipe'],
});
if (r.status !== 0) {
  if (!install) process.stderr.write(`${r.stdout}${r.stderr}`);
  const out = `${r.stderr}${r.stdout}`.split('\n');
  const why =
    out.find((l) => l.startsWith('gyp ERR! stack Error: '))?.slice(22) ?? // "not found: make"
    out.find((l) => /error/i.test(l))?.trim() ??
    `node-gyp exited ${r.status}`;
  say(`native wire not built (${why}); ${fallback}`);
  process.exit(0);
}
if (!install) say('native wire built: build/Release/tftp_wire.node');
