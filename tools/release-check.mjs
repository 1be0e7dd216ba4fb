// The checks tools/release-check.sh runs on what a user gets; each problem is one line, exit 1 if any.
//
//   node tools/release-check.mjs tarballs <dir>    every <dir>/*.tgz, as `npm pack` wrote it
//   node tools/release-check.mjs installed <dir>   <dir>/node_modules after `npm install` of them
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/** Files a tarball must hold beyond its exports: what the CLI loads at run time, and license notices. */
const REQUIRED = {
  '@boottorrent/agent': ['dist/agent.mjs', 'dist/THIRD-PARTY-LICENSES.txt'],
  '@boottorrent/config': ['schema/config.schema.json', 'schema/os.schema.json'],
  '@boottorrent/seeder': ['dist/THIRD-PARTY-LICENSES.txt'],
  '@boottorrent/tracker': ['dist/THIRD-PARTY-LICENSES.txt'],
};

/**
 * Packages a user's install must not contain: native code that downloads binaries or needs a compiler
 * (node-datachannel, utp-native), an install script that refuses npm (ip-set), and the libraries
 * inlined into @boottorrent/seeder and @boottorrent/tracker (finding them means a dependency leaked).
 */
const FORBIDDEN = [
  'node-datachannel',
  'webrtc-polyfill',
  'ip-set',
  'utp-native',
  'webtorrent',
  'bittorrent-tracker',
];

/** Install scripts a user's install may run, and why each is harmless. */
const INSTALL_SCRIPTS_OK = {
  '@boottorrent/tftp':
    'builds the optional native wire with node-gyp; on failure one line, node:dgram is used',
  sockopt:
    "optional (@boottorrent/pxe): its Linux prebuilds are macOS binaries, so npm compiles it; without a compiler it is left out and DHCP's bind says how to fix that",
};

const problems = [];
const problem = (line) => problems.push(line);

function tarList(file) {
  const r = spawnSync('tar', ['tzf', file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tar tzf ${file}: ${r.stderr.trim()}`);
  return new Set(
    r.stdout
      .split('\n')
      .filter(Boolean)
      .map((p) => p.replace(/^package\//, '')),
  );
}

function tarRead(file, path) {
  const r = spawnSync('tar', ['xzf', file, '-O', `package/${path}`], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  return r.status === 0 ? r.stdout : undefined;
}

const norm = (p) => p.replace(/^\.\//, '');

/** Every file path an exports map points at, with the conditions in their order. */
function exportTargets(exp, key = '.') {
  if (typeof exp === 'string') return [{ key, target: exp, conditions: [] }];
  if (!exp || typeof exp !== 'object') return [];
  return Object.entries(exp).flatMap(([k, v]) =>
    k.startsWith('.')
      ? exportTargets(v, k)
      : exportTargets(v, key).map((t) => ({ ...t, conditions: [k, ...t.conditions] })),
  );
}

function checkTarball(file, packed) {
  const files = tarList(file);
  const text = tarRead(file, 'package.json');
  if (!text) return problem(`${file}: no package.json`);
  const pkg = JSON.parse(text);
  const id = `${pkg.name}@${pkg.version}`;
  const bins = new Set(
    Object.values(typeof pkg.bin === 'string' ? { [pkg.name]: pkg.bin } : (pkg.bin ?? {})).map(norm),
  );

  if (!files.has('README.md')) problem(`${id}: README.md is not in the tarball`);
  for (const f of ['dist', 'README.md'])
    if (!pkg.files?.includes(f)) problem(`${id}: package.json "files" lacks "${f}"`);
  if (!/^>=\s*\d+/.test(pkg.engines?.node ?? ''))
    problem(`${id}: package.json "engines.node" is not ">=N" (${pkg.engines?.node})`);
  if (pkg.type !== 'module') problem(`${id}: package.json "type" is not "module"`);

  if (!pkg.exports || typeof pkg.exports !== 'object') problem(`${id}: no exports map`);
  else {
    if (pkg.exports['./package.json'] !== './package.json') problem(`${id}: exports lacks "./package.json"`);
    const targets = exportTargets(pkg.exports);
    for (const { key, target } of targets)
      if (!target.includes('*') && !files.has(norm(target)))
        problem(`${id}: exports["${key}"] → ${target} is not in the tarball`);
    for (const key of new Set(targets.map((t) => t.key))) {
      const [first, ...rest] = targets.filter((t) => t.key === key);
      const modules = [first, ...rest].filter((t) => /\.[cm]?js$/.test(t.target));
      // The agent's export is a program to copy into phase-1, not a module to import: no types.
      if (
        modules.length &&
        !modules.every((t) => bins.has(norm(t.target))) &&
        !first.conditions.includes('types')
      )
        problem(`${id}: exports["${key}"] does not start with a "types" condition`);
    }
  }
  for (const f of [pkg.main, pkg.types, ...bins].filter(Boolean))
    if (!files.has(norm(f))) problem(`${id}: ${f} (main/types/bin) is not in the tarball`);
  for (const f of REQUIRED[pkg.name] ?? []) if (!files.has(f)) problem(`${id}: ${f} is not in the tarball`);

  // A dist file with esbuild's "// ../../node_modules/x/…" markers inlines third-party code: its
  // licenses must come along.
  for (const f of [...files].filter((f) => /^dist\/.*\.m?js$/.test(f)))
    if (/^\/\/ .*node_modules\//m.test(tarRead(file, f) ?? '') && !files.has('dist/THIRD-PARTY-LICENSES.txt'))
      problem(`${id}: ${f} inlines node_modules code but dist/THIRD-PARTY-LICENSES.txt is missing`);

  for (const [dep, spec] of Object.entries({
    ...pkg.dependencies,
    ...pkg.optionalDependencies,
    ...pkg.peerDependencies,
  })) {
    if (/^(workspace|file|link|portal):/.test(spec))
      problem(`${id}: dependency ${dep} is "${spec}", which a registry install cannot resolve`);
    if (FORBIDDEN.includes(dep))
      problem(`${id}: depends on ${dep} (it must be inlined or replaced, see tools/bundle)`);
    if (dep.startsWith('@boottorrent/')) {
      const sibling = packed.get(dep);
      if (!sibling) problem(`${id}: depends on ${dep}, which is not published (private or missing)`);
      else if (spec.replace(/^[\^~=]/, '') !== sibling.version)
        problem(`${id}: depends on ${dep}@${spec} but the packed one is ${sibling.version}`);
    }
  }
  const size = (n) => `${(n / 1024).toFixed(0)} KiB`;
  const { size: gz, unpacked } = packed.get(pkg.name);
  console.log(
    `  ${id.padEnd(36)} ${size(gz).padStart(9)} packed ${size(unpacked).padStart(9)} unpacked  ${files.size} files`,
  );
}

function installedPackages(dir) {
  const out = [];
  const walk = (nm) => {
    if (!existsSync(nm)) return;
    for (const name of readdirSync(nm)) {
      if (name.startsWith('.')) continue;
      if (name.startsWith('@')) {
        for (const sub of readdirSync(join(nm, name))) visit(join(nm, name, sub));
      } else visit(join(nm, name));
    }
  };
  const visit = (p) => {
    const file = join(p, 'package.json');
    if (!existsSync(file)) return;
    out.push({ path: p, pkg: JSON.parse(readFileSync(file, 'utf8')) });
    walk(join(p, 'node_modules'));
  };
  walk(join(dir, 'node_modules'));
  return out;
}

function checkInstalled(dir) {
  const all = installedPackages(dir);
  for (const { path, pkg } of all) {
    if (FORBIDDEN.includes(pkg.name))
      problem(`${relative(dir, path)}: ${pkg.name} was installed (see tools/bundle/node-bundle.mjs)`);
    const scripts = ['preinstall', 'install', 'postinstall'].filter((s) => pkg.scripts?.[s]);
    const implicit = !scripts.length && existsSync(join(path, 'binding.gyp')) ? ['binding.gyp'] : [];
    for (const s of [...scripts, ...implicit]) {
      const why = INSTALL_SCRIPTS_OK[pkg.name];
      if (why) console.log(`  install script of ${pkg.name} (${s}): ${why}`);
      else
        problem(
          `${relative(dir, path)}: ${pkg.name} has a ${s} script ("${pkg.scripts?.[s] ?? 'node-gyp rebuild'}")`,
        );
    }
  }
  const names = new Set(all.map((p) => p.pkg.name));
  for (const { pkg } of all)
    for (const dep of Object.keys(pkg.optionalDependencies ?? {}))
      if (!names.has(dep))
        console.log(`  optional ${dep} (of ${pkg.name}) did not install: ${INSTALL_SCRIPTS_OK[dep] ?? ''}`);
  console.log(`  ${all.length} packages installed, none of ${FORBIDDEN.join(', ')}`);
}

const [mode, dir] = process.argv.slice(2);
if (mode === 'tarballs' && dir) {
  const tgz = readdirSync(dir)
    .filter((f) => f.endsWith('.tgz'))
    .map((f) => join(dir, f));
  const packed = new Map();
  for (const file of tgz) {
    const pkg = JSON.parse(tarRead(file, 'package.json') ?? '{}');
    const { size } = statSync(file);
    const unpacked = Number(
      spawnSync('sh', ['-c', 'tar xzf "$1" -O | wc -c', 'sh', file], { encoding: 'utf8' }).stdout,
    );
    packed.set(pkg.name, { version: pkg.version, size, unpacked });
  }
  for (const file of tgz) checkTarball(file, packed);
} else if (mode === 'installed' && dir) checkInstalled(dir);
else {
  console.error('usage: node tools/release-check.mjs tarballs|installed <dir>');
  process.exit(2);
}
for (const p of problems) console.error(`release-check: ${p}`);
process.exit(problems.length ? 1 : 0);
