// Bundles the agent into ONE ESM file with every dependency inlined (webtorrent included, no native
// module: uTP is off, webrtc-polyfill is a stub) — phase-1 has node and nothing else.
import { build } from 'esbuild';
import { rm } from 'node:fs/promises';

await rm(new URL('./dist', import.meta.url), { recursive: true, force: true });
const result = await build({
  entryPoints: [new URL('./src/main.ts', import.meta.url).pathname],
  outfile: new URL('./dist/agent.mjs', import.meta.url).pathname,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  minify: true,
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
  banner: {
    js: [
      "import { createRequire as __btCreateRequire } from 'node:module';",
      "import { fileURLToPath as __btFileURLToPath } from 'node:url';",
      'const require = __btCreateRequire(import.meta.url);',
      'const __filename = __btFileURLToPath(import.meta.url);',
      "const __dirname = __filename.replace(/[/][^/]*$/, '');",
    ].join(' '),
  },
  plugins: [
    {
      // webtorrent's lib/utp.cjs requires the native utp-native and prints "uTP not supported" when it
      // is missing. The agent runs with utp: false (TCP is all a LAN needs): give it the empty module
      // its own fallback returns, without the warning.
      name: 'no-utp',
      setup(b) {
        b.onResolve({ filter: /utp\.cjs$/ }, (args) =>
          args.importer.includes('webtorrent') ? { path: 'utp', namespace: 'no-utp' } : undefined,
        );
        b.onLoad({ filter: /.*/, namespace: 'no-utp' }, () => ({
          contents: 'module.exports = {};',
          loader: 'js',
        }));
      },
    },
  ],
});
const bytes = Object.values(result.metafile.outputs).reduce((s, o) => s + o.bytes, 0);
console.log(`agent: dist/agent.mjs ${(bytes / 1024 / 1024).toFixed(2)} MiB`);
