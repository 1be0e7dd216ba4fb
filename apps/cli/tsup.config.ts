import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/cli.ts'],
  format: ['esm'],
  // Keep each command's dynamic import() a separate chunk: --help and version load only cli.js and
  // the command metadata, never the server, webtorrent or the lab (test/integration/lazy.test.ts).
  splitting: true,
  dts: false,
  clean: true,
  target: 'node22',
  sourcemap: true,
});
