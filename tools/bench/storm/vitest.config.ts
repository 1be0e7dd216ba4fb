import { defineProject } from 'vitest/config';

// Part of `npm test` (the root vitest.config.ts); alone: npx vitest run --project bench-storm (needs root).
export default defineProject({
  test: {
    name: 'bench-storm',
    root: import.meta.dirname,
    include: ['*.test.ts'],
    setupFiles: ['@boottorrent/testing/plain-env'],
    testTimeout: 900_000,
  },
});
