import { defineConfig } from 'vitest/config';

// One vitest project per package; `npm test` runs them all. Integration tests that boot VMs are slow
// under TCG, hence the generous default timeouts.
export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*'],
  },
});
