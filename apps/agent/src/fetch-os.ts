import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClientManifest, ManifestOs } from '@boottorrent/config';
import { download, type Download, type DownloadProgress } from '@boottorrent/seeder';
import type { Console } from './console.js';
import { AgentError, AgentErrorCode } from './errors.js';
import { formatBytes, memAvailable, progressLine } from './format.js';
import type { AgentPaths } from './paths.js';
import { ramNeeded } from './ram.js';
import type { StatusReply, StatusReporter } from './status.js';

/** Seconds without verified progress before a download is given up. @default 60 */
export const DEFAULT_STALL_SECONDS = 60;

/**
 * Answers in a row saying no machine waits for the OS before a seeding agent stops early (reports
 * go at most once a second, so about 2 s): one answer could come just before a machine the server
 * has not seen yet asks. @default 3
 */
export const SEED_IDLE_ANSWERS = 3;
/** Seconds a machine seeds at least, whatever the server says. @default 2 */
export const SEED_MIN_SECONDS = 2;

/** Why seeding ended: no machine waits for the OS (the server said so), or seed_time is over. */
export type SeedStop = 'none-waiting' | 'seed-time';

/**
 * When a machine stops seeding its OS: always at `seedTime`; with `whileNeeded`, earlier, once the
 * server answered `idleAnswers` status reports in a row with no machine waiting for the OS and at
 * least `minSeconds` have passed. An answer with machines waiting, or a report without an answer
 * (server down, timeout, refused), starts the count over: a machine that cannot ask seeds the whole
 * `seedTime`, as before. Pure: the clock is injected.
 */
export class SeedPolicy {
  readonly #end: number;
  readonly #earliest: number;
  readonly #idleAnswers: number;
  readonly #whileNeeded: boolean;
  readonly #now: () => number;
  #zeros = 0;

  constructor(o: {
    seedTime: number;
    whileNeeded: boolean;
    /** @default SEED_IDLE_ANSWERS */
    idleAnswers?: number;
    /** @default SEED_MIN_SECONDS */
    minSeconds?: number;
    /** ms clock. @default Date.now */
    now?: () => number;
  }) {
    this.#now = o.now ?? Date.now;
    const t0 = this.#now();
    this.#end = t0 + o.seedTime * 1000;
    this.#earliest = t0 + (o.minSeconds ?? SEED_MIN_SECONDS) * 1000;
    this.#idleAnswers = o.idleAnswers ?? SEED_IDLE_ANSWERS;
    this.#whileNeeded = o.whileNeeded;
  }

  /** Feeds one status report's reply; returns why to stop now, or null to keep seeding. */
  reply(r: StatusReply): SeedStop | null {
    if (r.kind === 'answered' && r.waiting === 0) this.#zeros++;
    else if (r.kind !== 'skipped') this.#zeros = 0;
    return this.verdict();
  }

  /** Why to stop now, or null to keep seeding. */
  verdict(): SeedStop | null {
    const now = this.#now();
    if (now >= this.#end) return 'seed-time';
    if (this.#whileNeeded && this.#zeros >= this.#idleAnswers && now >= this.#earliest) return 'none-waiting';
    return null;
  }
}

/** Throws AgentError when the OS (plus what its method takes to load it, see ramNeeded) does not fit in the available RAM. */
export async function checkRam(os: ManifestOs, meminfoPath: string): Promise<void> {
  const available = memAvailable(await readFile(meminfoPath, 'utf8').catch(() => ''));
  if (available === undefined) return;
  const need = ramNeeded(os);
  if (available < need.bytes) {
    const parts = need.parts.map(([what, b]) => `${what} ${formatBytes(b)}`).join(' + ');
    throw new AgentError(
      AgentErrorCode.NoRam,
      `not enough RAM for ${os.dispname} (${os.method}): it needs ${formatBytes(need.bytes)} (${parts}), this machine has ${formatBytes(available)} available`,
      { hint: 'pick a smaller OS or give this machine more RAM' },
    );
  }
}

/** One phrase on whether an HTTP tracker answers at all (any HTTP status counts), for the stall message. */
async function probeTracker(url: string): Promise<string> {
  if (!/^https?:/.test(url)) return `tracker ${url} (not probed)`;
  const answered = await fetch(url, { signal: AbortSignal.timeout(2000) }).then(
    async (r) => {
      await r.arrayBuffer().catch(() => undefined);
      return true;
    },
    () => false,
  );
  return answered ? `tracker ${url} answered but no peer sent data` : `tracker ${url} unreachable`;
}

const bytes = (p: DownloadProgress) => ({
  bytesFromServer: p.fromServer,
  bytesFromPeers: p.fromPeers,
  bytesFromWebSeed: p.fromWebSeed,
  bytesUploaded: p.uploaded,
});

/**
 * Downloads the OS into tmpfs (every piece SHA-1 verified by the swarm client) with a progress line,
 * then seeds it for `seedTime` seconds with a countdown, or less when the server says no machine
 * still needs it ({@link SeedPolicy}, `seedWhileNeeded`). Gives up after `stallSeconds` without
 * progress. Returns the download, still open (the caller closes it before loading).
 */
export async function fetchOs(ctx: {
  os: ManifestOs;
  manifest: ClientManifest;
  paths: AgentPaths;
  con: Console;
  reporter: StatusReporter;
  stallSeconds: number;
  /** The server's address: its seeder's bytes are counted as `fromServer`. */
  server: string | undefined;
}): Promise<Download> {
  const { os, manifest, con, reporter } = ctx;
  const torrent = await readFile(join(ctx.paths.payload, 'torrents', os.torrent)).catch(() => {
    throw new AgentError(
      AgentErrorCode.BadPayload,
      `the payload has no torrents/${os.torrent} for ${os.dispname}`,
      {
        hint: 'rebuild with boottorrent build and boot again',
      },
    );
  });
  con.line(`Downloading ${os.dispname} (${formatBytes(os.size)})`);
  const stall = new AbortController();
  let last = -1;
  let lastChange = Date.now();
  let latest: DownloadProgress | undefined;
  const watchdog = setInterval(() => {
    const now = latest?.downloaded ?? 0;
    if (now !== last) {
      last = now;
      lastChange = Date.now();
    } else if (Date.now() - lastChange >= ctx.stallSeconds * 1000) {
      stall.abort();
    }
  }, 250);
  const t0 = Date.now();
  let dl: Download;
  try {
    dl = await download({
      torrent,
      dir: ctx.paths.data,
      announce: manifest.trackers,
      // The server's seeder directly (host:port) when the manifest names its port; else the host only
      // classifies bytes and the tracker introduces the seeder.
      serverPeers: ctx.server
        ? [manifest.server.seederPort ? `${ctx.server}:${manifest.server.seederPort}` : ctx.server]
        : [],
      webSeeds: os.webSeed ? [os.webSeed] : undefined,
      lsd: manifest.lsd,
      pex: manifest.pex,
      signal: stall.signal,
      onProgress: (p) => {
        latest = p;
        con.status(progressLine(p));
        void reporter.report({
          phase: 'downloading',
          os: os.name,
          progress: p.total ? p.downloaded / p.total : 1,
          ...bytes(p),
        });
      },
    });
  } catch (err) {
    if (stall.signal.aborted) {
      const trackers = await Promise.all(manifest.trackers.map(probeTracker));
      const web = os.webSeed ? `web seed ${os.webSeed} sent nothing` : 'no web seed';
      throw new AgentError(
        AgentErrorCode.Stalled,
        `no progress for ${ctx.stallSeconds} s downloading ${os.dispname}: ${trackers.join(', ') || 'no tracker'}; ${web}`,
        { cause: err, hint: 'check that the server is running and this machine reaches it' },
      );
    }
    throw err;
  } finally {
    clearInterval(watchdog);
    con.line('');
  }
  const p = dl.stats();
  con.line(
    `Downloaded ${os.dispname} in ${((Date.now() - t0) / 1000).toFixed(1)} s: server ${formatBytes(p.fromServer)},` +
      ` peers ${formatBytes(p.fromPeers)}, web seed ${formatBytes(p.fromWebSeed)}`,
  );
  if (manifest.seedTime > 0) {
    const policy = new SeedPolicy({ seedTime: manifest.seedTime, whileNeeded: !!manifest.seedWhileNeeded });
    const early = new AbortController();
    const t1 = Date.now();
    const report = (q: DownloadProgress) =>
      void reporter.report({ phase: 'seeding', os: os.name, progress: 1, ...bytes(q) }).then((r) => {
        if (policy.reply(r) === 'none-waiting') early.abort();
      });
    report(p);
    let done: DownloadProgress;
    try {
      done = await dl.seedFor(manifest.seedTime, {
        signal: early.signal,
        onProgress: (s) => {
          con.status(
            `Seeding ${os.dispname} for ${s.remainingSeconds} s more, uploaded ${formatBytes(s.uploaded)}`,
          );
          report(s);
        },
      });
    } catch (err) {
      if (!early.signal.aborted) throw err;
      done = dl.stats();
    }
    con.line('');
    const after = ((Date.now() - t1) / 1000).toFixed(1);
    con.line(
      early.signal.aborted
        ? `Stopped seeding after ${after} s: no machine is waiting for ${os.dispname}`
        : `Stopped seeding after ${after} s: seed_time reached (${manifest.seedTime} s)`,
    );
    con.line(`Seeded ${formatBytes(done.uploaded)} to other machines`);
  }
  return dl;
}
