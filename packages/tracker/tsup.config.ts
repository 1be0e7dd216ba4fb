import { defineConfig } from 'tsup';
// eslint-disable-next-line @nx/enforce-module-boundaries -- a build-time helper, not a project: nothing of it ships
import { REQUIRE_BANNER, replacePlugins, thirdPartyLicensesPlugin } from '../../tools/bundle/node-bundle.mjs';

// bittorrent-tracker is inlined (a devDependency): installed from the registry, its client side pulls
// @thaunknown/simple-peer → webrtc-polyfill → node-datachannel (native, downloads a binary at install).
// tools/bundle/node-bundle.mjs says why each replacement is safe.
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
    thirdPartyLicensesPlugin({ outDir: 'dist', title: '@boottorrent/tracker (dist/index.js)' }),
  ],
});
