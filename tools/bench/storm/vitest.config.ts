import { defineProject } from 'vitest/config';

// Run alone: npx vitest run --config tools/bench/storm/vitest.config.ts (needs root: network namespaces).
export default defineProject({
  test: {
    name: 'bench-storm',
    root: import.meta.dirname,
    include: ['*.test.ts'],
    setupFiles: ['@boottorrent/testing/plain-env'],
    testTimeout: 900_000,
  },
});
