import { defineProject } from 'vitest/config';

// Run alone: npx vitest run --config tools/bench/swarm/vitest.config.ts (needs root: network namespaces).
// To include it in `npm test`, add 'tools/bench/swarm' to the projects of the root vitest.config.ts.
export default defineProject({
  test: {
    name: 'bench-swarm',
    root: import.meta.dirname,
    include: ['*.test.ts'],
    // No colour in this process and its children whatever the runner's FORCE_COLOR or TTY.
    setupFiles: ['@boottorrent/testing/plain-env'],
    testTimeout: 90_000,
  },
});
