import { defineConfig } from 'vitest/config';

// One vitest project per package, plus the swarm and storm benchmarks' quick modes; `npm test` runs them all. Two workers: the machine has two cores and
// several suites boot QEMU VMs under TCG.
export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*', 'tools/bench/swarm', 'tools/bench/storm'],
    maxWorkers: 2,
  },
});
