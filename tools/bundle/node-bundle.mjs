// Shared by the builds that inline third-party code (@boottorrent/seeder, @boottorrent/tracker, the
// agent): what must not reach a user's install is bundled or replaced here, once.
//
// - webtorrent and bittorrent-tracker pull @thaunknown/simple-peer → webrtc-polyfill → node-datachannel
//   (native; its install downloads a binary from GitHub) and ip-set (preinstall `npx only-allow pnpm`).
//   A published package cannot carry the repository's `overrides`, so the code is inlined instead, with
//   webrtc-polyfill replaced by tools/stubs/webrtc-polyfill (BootTorrent peers talk TCP on a LAN).
// - webtorrent's lib/utp.cjs requires the native utp-native; every client here runs with utp: false,
//   so it gets the empty module webtorrent's own fallback returns (without its "uTP not supported").
// - Inlined CommonJS calls require() for node builtins; an ES module has none, so a banner makes one.
// - MIT, ISC, BSD and Apache-2.0 ask that the notice travel with the code: every inlined package's
//   license text (and NOTICE) is written next to the bundle.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const WEBRTC_STUB = resolve(here, '../stubs/webrtc-polyfill/index.js');

/** The file next to each bundle that holds the inlined packages' license texts. */
export const LICENSES_FILE = 'THIRD-PARTY-LICENSES.txt';

/** Gives bundled CommonJS a working require() (and __filename/__dirname) inside an ES module. */
export const REQUIRE_BANNER = [
  "import { createRequire as __btCreateRequire } from 'node:module';",
  "import { fileURLToPath as __btFileURLToPath } from 'node:url';",
  'const require = __btCreateRequire(import.meta.url);',
  'const __filename = __btFileURLToPath(import.meta.url);',
  "const __dirname = __filename.replace(/[/][^/]*$/, '');",
].join(' ');

/** Licenses whose terms a bundle meets by shipping the notice; anything else stops the build. */
const PERMISSIVE = new Set([
  'MIT',
  'ISC',
  'BSD',
  'BSD-2-Clause',
  'BSD-3-Clause',
  'Apache-2.0',
  '0BSD',
  'CC0-1.0',
  'Unlicense',
  'BlueOak-1.0.0',
]);

/** Optional native modules in webtorrent's and bittorrent-tracker's trees, left out of bundles. */
export const NATIVE_LEFT_OUT = [
  'bufferutil',
  'utf-8-validate',
  'fs-native-extensions',
  'utp-native',
  'node-datachannel',
];

/** esbuild plugins: the webrtc-polyfill stub, the native modules left out, the empty uTP module. */
export function replacePlugins() {
  return [
    {
      name: 'boottorrent-webrtc-stub',
      setup(b) {
        b.onResolve({ filter: /^webrtc-polyfill$/ }, () => ({ path: WEBRTC_STUB }));
      },
    },
    {
      // Each is required inside try/catch by its user (ws, random-access-file), which then runs
      // without it, as when an optional native module is not installed; bundled, they would only
      // fail later, looking for their .node file beside the bundle.
      name: 'boottorrent-native-left-out',
      setup(b) {
        const filter = new RegExp(`^(${NATIVE_LEFT_OUT.join('|')})$`);
        b.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'boottorrent-native' }));
        b.onLoad({ filter: /.*/, namespace: 'boottorrent-native' }, (args) => ({
          contents: `throw new Error(${JSON.stringify(`${args.path}: a native module, left out of this bundle`)});`,
          loader: 'js',
        }));
      },
    },
    {
      // A few dependencies (socks, smart-buffer) publish source maps that point at .ts files they do
      // not ship; esbuild would chain them and the bundle's map would name files nobody has (vite
      // warns "points to missing source files"). Map those lines to the published .js instead.
      name: 'boottorrent-no-dependency-sourcemaps',
      setup(b) {
        b.onLoad({ filter: /[/\\]node_modules[/\\].*\.[cm]?js$/ }, async (args) => {
          const text = await readFile(args.path, 'utf8');
          if (!text.includes('sourceMappingURL=')) return undefined;
          return { contents: text.replace(/^\/\/# sourceMappingURL=.*$/gm, ''), loader: 'js' };
        });
      },
    },
    {
      name: 'boottorrent-no-utp',
      setup(b) {
        b.onResolve({ filter: /utp\.cjs$/ }, (args) =>
          args.importer.includes(`${sep}webtorrent${sep}`)
            ? { path: 'utp', namespace: 'boottorrent-no-utp' }
            : undefined,
        );
        b.onLoad({ filter: /.*/, namespace: 'boottorrent-no-utp' }, () => ({
          contents: 'module.exports = {};',
          loader: 'js',
        }));
      },
    },
  ];
}

/** The package folder an esbuild input path lies in (…/node_modules/[@scope/]name), or undefined. */
function packageRoot(absPath) {
  const parts = absPath.split(sep);
  const i = parts.lastIndexOf('node_modules');
  if (i < 0) return undefined;
  const n = parts[i + 1]?.startsWith('@') ? 3 : 2;
  return parts.slice(0, i + n).join(sep);
}

function licenseOf(pkg) {
  if (typeof pkg.license === 'string') return pkg.license;
  if (pkg.license?.type) return pkg.license.type;
  if (Array.isArray(pkg.licenses)) return pkg.licenses.map((l) => l.type ?? l).join(' OR ');
  return 'UNKNOWN';
}

const permissive = (expr) =>
  expr
    .replace(/[()]/g, '')
    .split(/ OR /)
    .some((l) => PERMISSIVE.has(l.trim()));

/**
 * Writes `outDir/THIRD-PARTY-LICENSES.txt` for every node_modules package among an esbuild metafile's
 * inputs; throws (one line per package) on a package whose license is not a known permissive one.
 * Returns the packages, `name@version license`.
 */
export function writeThirdPartyLicenses(metafile, { cwd = process.cwd(), outDir, title }) {
  const roots = new Set();
  const nested = new Set();
  for (const input of Object.keys(metafile.inputs)) {
    if (input.includes(':')) continue; // a plugin namespace (a module left out)
    const abs = resolve(cwd, input);
    const root = packageRoot(abs);
    if (root) roots.add(root);
    // A sibling's bundle (the agent inlines @boottorrent/seeder's dist): its own list comes along.
    else if (existsSync(join(dirname(abs), LICENSES_FILE))) nested.add(join(dirname(abs), LICENSES_FILE));
  }
  const entries = [...nested].flatMap(readLicensesFile);
  const bad = [];
  for (const root of roots) {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    const license = licenseOf(pkg);
    if (!permissive(license))
      bad.push(`${pkg.name}@${pkg.version}: license "${license}" (${relative(cwd, root)})`);
    const texts = readdirSync(root)
      .filter((f) => /^(licen[cs]e|copying|notice)(\.|-|$)/i.test(f))
      .sort()
      .map((f) => readFileSync(join(root, f), 'utf8').trim());
    const author = typeof pkg.author === 'string' ? pkg.author : pkg.author?.name;
    entries.push({
      id: `${pkg.name}@${pkg.version}`,
      license,
      text: texts.length
        ? texts.join('\n\n')
        : `(the package ships no license file; package.json says "${license}"${author ? `, author ${author}` : ''})`,
    });
  }
  const seen = new Set();
  entries.splice(0, entries.length, ...entries.filter((e) => !seen.has(e.id) && seen.add(e.id)));
  if (bad.length) throw new Error(`not a permissive license, cannot bundle:\n  ${bad.join('\n  ')}`);
  entries.sort((a, b) => (a.id < b.id ? -1 : 1));
  const body = [
    `${title} inlines the following packages. Their licenses and notices:`,
    '',
    ...entries.map((e) => `  ${e.id} (${e.license})`),
    '',
    ...entries.flatMap((e) => [RULE, `${e.id} (${e.license})`, RULE, '', e.text, '']),
  ].join('\n');
  writeFileSync(join(outDir, LICENSES_FILE), body);
  return entries.map((e) => `${e.id} ${e.license}`);
}

const RULE = '-'.repeat(72);

/** The entries of a file written by writeThirdPartyLicenses. */
function readLicensesFile(file) {
  const parts = readFileSync(file, 'utf8').split(`\n${RULE}\n`);
  const entries = [];
  for (let i = 1; i + 1 < parts.length; i += 2) {
    const m = /^(\S+) \((.*)\)$/.exec(parts[i].trim());
    if (m) entries.push({ id: m[1], license: m[2], text: parts[i + 1].trim() });
  }
  return entries;
}

/** esbuild plugin: after each successful build, writes the license file beside the output. */
export function thirdPartyLicensesPlugin({ outDir, title }) {
  return {
    name: 'boottorrent-third-party-licenses',
    setup(b) {
      b.initialOptions.metafile = true;
      b.onEnd((result) => {
        if (result.errors.length || !result.metafile) return;
        mkdirSync(outDir, { recursive: true });
        writeThirdPartyLicenses(result.metafile, {
          cwd: b.initialOptions.absWorkingDir ?? process.cwd(),
          outDir,
          title,
        });
      });
    },
  };
}
