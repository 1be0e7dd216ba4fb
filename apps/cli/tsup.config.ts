import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/bin.ts', 'src/cli.ts'],
  format: ['esm'],
  dts: false,
  clean: true,
  target: 'node22',
  sourcemap: true,
  splitting: false,
  banner: { js: '#!/usr/bin/env node' },
});
