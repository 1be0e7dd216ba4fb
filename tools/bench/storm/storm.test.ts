// The storm benchmark end to end on a small OS (N = 2, 4 MiB, seed_time 30 s with
// seed_while_needed, the defaults), both methods: every client fetches phase-1, runs the real agent,
// downloads the OS over BitTorrent, seeds it until the server says no machine waits and reaches the
// kexec stub (storm.ts itself fails unless each client's `kexec -l` named the OS it downloaded, then
// `kexec -e`). Needs root (network namespaces, tc), xz, the unpacked busybox (tools/setup.sh) and the
// built @boottorrent/server and @boottorrent/agent. The first run builds phase-1 (minutes).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const F = 4 * 1024 * 1024;
const SEED = 30;
/** The agent's least seeding (SEED_MIN_SECONDS in apps/agent). */
const SEED_MIN = 2;

describe('storm benchmark, N = 2 on a small OS', () => {
  it('brings both machines to kexec with either method and counts what the server sent', async () => {
    expect(process.getuid?.(), 'needs root: network namespaces and tc').toBe(0);
    const dir = mkdtempSync(join(tmpdir(), 'bt-storm-test-'));
    try {
      const json = join(dir, 'storm.json');
      await run(
        process.execPath,
        [
          join(import.meta.dirname, 'storm.ts'),
          ...['--n', '2', '--size-mib', '4', '--seed-time', String(SEED), '--max-minutes', '10'],
          ...['--json', json],
        ],
        { maxBuffer: 1 << 24 },
      );
      const { results } = JSON.parse(readFileSync(json, 'utf8')) as {
        results: (Record<string, number | string> & { seedStops: unknown })[];
      };
      expect(results.map((r) => [r.method, r.n])).toEqual([
        ['server-phase1', 2],
        ['peer-phase1', 2],
      ]);
      for (const r of results) {
        const n = (k: string) => r[k] as number;
        expect(n('loaderLast')).toBeLessThanOrEqual(n('phase1Last'));
        expect(n('phase1Last')).toBeLessThan(n('osDownloadedLast'));
        // Each agent seeds after its download until the server says no machine waits for the OS:
        // at least the agent's minimum, and not the whole seed_time.
        expect(n('osLast') - n('osDownloadedLast')).toBeGreaterThanOrEqual(SEED_MIN - 0.1);
        expect(n('osLast') - n('osDownloadedLast')).toBeLessThan(SEED);
        expect(r.seedStops).toEqual({ noneWaiting: 2, seedTime: 0, seedTimeMax: 0 });
        // Only the server has the OS at first; two machines need at most two copies of it.
        expect(n('serverOsBytes')).toBeGreaterThanOrEqual(F);
        expect(n('serverOsBytes')).toBeLessThan(2.1 * F);
      }
      const [one, two] = results;
      expect(one!.serverRuntimeBytes).toBe(0);
      expect(Number(two!.runtimeFromServer) + Number(two!.runtimeFromPeers)).toBe(2);
      // Two stages: the boot loader's files no longer carry Node and the agent.
      expect(two!.serverLoaderBytes).toBeLessThan(one!.serverLoaderBytes as number);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
