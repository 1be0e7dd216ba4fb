import { defineConfig } from 'tsup';
// eslint-disable-next-line @nx/enforce-module-boundaries -- a build-time helper, not a project: nothing of it ships
import { REQUIRE_BANNER, replacePlugins, thirdPartyLicensesPlugin } from '../../tools/bundle/node-bundle.mjs';

// webtorrent, bittorrent-tracker and parse-torrent are inlined (they are devDependencies): installed
// from the registry they pull node-datachannel (native, downloads a binary) and ip-set (a preinstall
// that needs pnpm). tools/bundle/node-bundle.mjs says why each replacement is safe.
export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm'],
  dts: true,
  clean: true,
  target: 'node22',
  sourcemap: true,
  noExternal: [/.*/],
  splitting: false,
  banner: { js: REQUIRE_BANNER },
  esbuildPlugins: [
    ...replacePlugins(),
    thirdPartyLicensesPlugin({ outDir: 'dist', title: '@boottorrent/seeder (dist/index.js)' }),
  ],
});
