// Bundles src/ into one ESM file that agent.mjs imports inside the network namespaces, so the
// integration tests always run the current source (no stale dist/).
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

export const BUNDLE = fileURLToPath(new URL('../../node_modules/.cache/btpxe/pxe.mjs', import.meta.url));

export default async function setup(): Promise<void> {
  await build({
    entryPoints: [fileURLToPath(new URL('../../src/index.ts', import.meta.url))],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    outfile: BUNDLE,
    external: ['sockopt'],
    logLevel: 'error',
  });
}
