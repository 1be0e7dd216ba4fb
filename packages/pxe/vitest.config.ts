import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'pxe',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/integration/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
