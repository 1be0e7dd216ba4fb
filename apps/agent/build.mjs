// Bundles the agent into ONE ESM file with every dependency inlined (webtorrent included, no native
// module: uTP is off, webrtc-polyfill is a stub; tools/bundle/node-bundle.mjs) — phase-1 has node and
// nothing else. The inlined packages' licenses go to dist/THIRD-PARTY-LICENSES.txt.
import { build } from 'esbuild';
import { rm } from 'node:fs/promises';
// eslint-disable-next-line @nx/enforce-module-boundaries -- a build-time helper, not a project: nothing of it ships
import { REQUIRE_BANNER, replacePlugins, thirdPartyLicensesPlugin } from '../../tools/bundle/node-bundle.mjs';

const dist = new URL('./dist', import.meta.url).pathname;
await rm(dist, { recursive: true, force: true });
const result = await build({
  entryPoints: [new URL('./src/main.ts', import.meta.url).pathname],
  outfile: `${dist}/agent.mjs`,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  minify: true,
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
  banner: { js: REQUIRE_BANNER },
  plugins: [
    ...replacePlugins(),
    thirdPartyLicensesPlugin({ outDir: dist, title: '@boottorrent/agent (dist/agent.mjs)' }),
  ],
});
const bytes = Object.values(result.metafile.outputs).reduce((s, o) => s + o.bytes, 0);
console.log(`agent: dist/agent.mjs ${(bytes / 1024 / 1024).toFixed(2)} MiB`);
