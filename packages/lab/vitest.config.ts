import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'lab',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // No colour in this process and its children whatever the runner's FORCE_COLOR or TTY (a path:
    // @boottorrent/testing depends on this package).
    setupFiles: ['../../tools/testing/plain-env.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
