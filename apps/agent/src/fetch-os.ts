import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClientManifest, ManifestOs } from '@boottorrent/config';
import {
  prepareDownload,
  type Download,
  type DownloadProgress,
  type PreparedDownload,
} from '@boottorrent/seeder';
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

/**
 * Why seeding ended: no machine waits for the OS (the server said so), seed_time is over (and no
 * machine is known to wait), or machines still wait but `seedTimeMax` is reached.
 */
export type SeedStop = 'none-waiting' | 'seed-time' | 'seed-time-max';

/**
 * When a machine stops seeding its OS. With `whileNeeded`: once the server answered `idleAnswers`
 * status reports in a row with no machine waiting for the OS and at least `minSeconds` have passed;
 * at `seedTime` unless the server's last answer said machines still wait; then on until one says
 * none does, up to `seedTimeMax` in all. A report without an answer (server down, timeout, refused)
 * starts the count over and counts as "nobody known to wait": a machine that cannot ask seeds
 * `seedTime`, as before. Without `whileNeeded`: exactly `seedTime`. Pure: the clock is injected.
 */
export class SeedPolicy {
  readonly #end: number;
  readonly #max: number;
  readonly #earliest: number;
  readonly #idleAnswers: number;
  readonly #whileNeeded: boolean;
  readonly #now: () => number;
  #zeros = 0;
  /** Machines waiting for the OS by the server's last answer; undefined after a report it did not answer. */
  #waiting: number | undefined;
  /** Seeding went on past seedTime because machines waited. */
  #extended = false;

  constructor(o: {
    seedTime: number;
    /** Seconds in all a machine may seed past seedTime while machines wait; below seedTime: seedTime. @default seedTime */
    seedTimeMax?: number;
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
    this.#max = t0 + Math.max(o.seedTime, o.whileNeeded ? (o.seedTimeMax ?? 0) : 0) * 1000;
    this.#earliest = t0 + (o.minSeconds ?? SEED_MIN_SECONDS) * 1000;
    this.#idleAnswers = o.idleAnswers ?? SEED_IDLE_ANSWERS;
    this.#whileNeeded = o.whileNeeded;
  }

  /** Feeds one status report's reply; returns why to stop now, or null to keep seeding. */
  reply(r: StatusReply): SeedStop | null {
    if (r.kind === 'answered' && r.waiting === 0) this.#zeros++;
    else if (r.kind !== 'skipped') this.#zeros = 0;
    if (r.kind !== 'skipped') this.#waiting = r.kind === 'answered' ? r.waiting : undefined;
    return this.verdict();
  }

  /** Why to stop now, or null to keep seeding. */
  verdict(): SeedStop | null {
    const now = this.#now();
    if (this.#whileNeeded && this.#zeros >= this.#idleAnswers && now >= this.#earliest) return 'none-waiting';
    if (now < this.#end) return null;
    // Past seedTime: on only while the last answer said machines wait, and not past seedTimeMax.
    if (!((this.#waiting ?? 0) > 0))
      return this.#extended && this.#waiting === 0 ? 'none-waiting' : 'seed-time';
    if (now >= this.#max) return this.#extended ? 'seed-time-max' : 'seed-time';
    this.#extended = true;
    return null;
  }

  /** Seconds until seedTime ends (0 past it), for the countdown. */
  remainingSeconds(): number {
    return Math.max(0, Math.ceil((this.#end - this.#now()) / 1000));
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

/** What {@link prepareOs} needs. */
export interface OsSource {
  os: ManifestOs;
  manifest: ClientManifest;
  paths: AgentPaths;
  /** The server's address: its seeder's bytes are counted as `fromServer`. */
  server: string | undefined;
}

/**
 * Everything of the OS's download that does not need the user's choice (the seeder's
 * `prepareDownload`): listening, the torrent added, announced and connected to the server's seeder and
 * the peers, nothing asked for. The menu does it for the preselected OS during its countdown, so that
 * the download starts at full speed when the countdown ends; `close()` it if another OS is chosen.
 */
export async function prepareOs(src: OsSource): Promise<PreparedDownload> {
  const { os, manifest } = src;
  const torrent = await readFile(join(src.paths.payload, 'torrents', os.torrent)).catch(() => {
    throw new AgentError(
      AgentErrorCode.BadPayload,
      `the payload has no torrents/${os.torrent} for ${os.dispname}`,
      {
        hint: 'rebuild with boottorrent build and boot again',
      },
    );
  });
  return prepareDownload({
    torrent,
    dir: src.paths.data,
    announce: manifest.trackers,
    // The server's seeder directly (host:port) when the manifest names its port; else the host only
    // classifies bytes and the tracker introduces the seeder.
    serverPeers: src.server
      ? [manifest.server.seederPort ? `${src.server}:${manifest.server.seederPort}` : src.server]
      : [],
    webSeeds: os.webSeed ? [os.webSeed] : undefined,
    lsd: manifest.lsd,
    pex: manifest.pex,
  });
}

/**
 * Downloads the OS into tmpfs (every piece SHA-1 verified by the swarm client) with a progress line,
 * then seeds it for `seedTime` seconds with a countdown, or less when the server says no machine
 * still needs it, or longer (up to `seedTimeMax`) while it says machines still do ({@link SeedPolicy},
 * `seedWhileNeeded`). Gives up after `stallSeconds` without
 * progress. Returns the download, still open (the caller closes it before loading). `prepared`: the
 * same OS's download from {@link prepareOs} (the menu's countdown), started instead of a new one.
 */
export async function fetchOs(
  ctx: OsSource & {
    con: Console;
    reporter: StatusReporter;
    stallSeconds: number;
    prepared?: PreparedDownload | undefined;
  },
): Promise<Download> {
  const { os, manifest, con, reporter } = ctx;
  const ready = ctx.prepared ?? (await prepareOs(ctx));
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
    dl = await ready.start({
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
    const whileNeeded = !!manifest.seedWhileNeeded;
    const policy = new SeedPolicy({
      seedTime: manifest.seedTime,
      seedTimeMax: manifest.seedTimeMax,
      whileNeeded,
    });
    // The longest it may seed: seedTime, or seedTimeMax while the server says machines still wait.
    const most = whileNeeded ? Math.max(manifest.seedTime, manifest.seedTimeMax ?? 0) : manifest.seedTime;
    const early = new AbortController();
    let why: SeedStop | null = null;
    const decide = (v: SeedStop | null) => {
      if (v && !why) {
        why = v;
        early.abort();
      }
    };
    const t1 = Date.now();
    const report = (q: DownloadProgress) =>
      void reporter
        .report({ phase: 'seeding', os: os.name, progress: 1, ...bytes(q) })
        .then((r) => decide(policy.reply(r)));
    report(p);
    let done: DownloadProgress;
    try {
      done = await dl.seedFor(most, {
        signal: early.signal,
        onProgress: (s) => {
          const left = policy.remainingSeconds();
          con.status(
            left > 0
              ? `Seeding ${os.dispname} for ${left} s more, uploaded ${formatBytes(s.uploaded)}`
              : `Seeding ${os.dispname} while machines still need it (at most ${s.remainingSeconds} s more), uploaded ${formatBytes(s.uploaded)}`,
          );
          report(s);
          decide(policy.verdict());
        },
      });
    } catch (err) {
      if (!early.signal.aborted) throw err;
      done = dl.stats();
    }
    const stop: SeedStop = why ?? policy.verdict() ?? 'seed-time';
    con.line('');
    const after = ((Date.now() - t1) / 1000).toFixed(1);
    con.line(
      stop === 'none-waiting'
        ? `Stopped seeding after ${after} s: no machine is waiting for ${os.dispname}`
        : stop === 'seed-time-max'
          ? `Stopped seeding after ${after} s: machines still wait for ${os.dispname}, but seed_time_max is reached (${most} s)`
          : `Stopped seeding after ${after} s: seed_time reached (${manifest.seedTime} s)`,
    );
    con.line(`Seeded ${formatBytes(done.uploaded)} to other machines`);
  }
  return dl;
}
