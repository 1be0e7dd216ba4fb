import { defineConfig } from 'vitest/config';

// One vitest project per package, plus the swarm benchmark's quick mode; `npm test` runs them all. Two workers: the machine has two cores and
// several suites boot QEMU VMs under TCG.
export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*', 'tools/bench/swarm'],
    maxWorkers: 2,
  },
});
