import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'server',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // No colour in this process and its children whatever the runner's FORCE_COLOR or TTY.
    setupFiles: ['@boottorrent/testing/plain-env'],
    testTimeout: 120_000,
    hookTimeout: 600_000,
  },
});
