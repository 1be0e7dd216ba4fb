import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { createReadStream } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), '../fixtures');
const DIST = resolve(dirname(fileURLToPath(import.meta.url)), '../../dist/index.js');

/** The process fixtures run the built package: fail loudly (never skip) when it was not built. */
export function requireBuilt(): void {
  if (!existsSync(DIST)) throw new Error(`${DIST} missing: run \`npx nx build @boottorrent/seeder\` first`);
  if (!existsSync(resolve(DIST, '../../../tracker/dist/index.js'))) {
    throw new Error('packages/tracker/dist missing: run `npx nx build @boottorrent/tracker` first');
  }
}

/** Absolute path of a host tool; throws (the test fails) when it is not installed. */
export function tool(name: string): string {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const path = r.stdout.trim();
  if (r.status !== 0 || !path) throw new Error(`${name} not found: run tools/setup.sh (Debian package)`);
  return path;
}

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `bt-seeder-${prefix}-`));
}

/** A fake OS folder: random files (sizes in bytes) at the given relative paths. */
export async function makeOsFolder(dir: string, files: Record<string, number>): Promise<void> {
  for (const [rel, size] of Object.entries(files)) {
    await mkdir(dirname(join(dir, rel)), { recursive: true });
    await writeFile(join(dir, rel), randomBytes(size));
  }
}

/** relative path → sha256 of every file under dir (to compare two folders byte for byte). */
export async function digestFolder(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else
        out[relative(dir, p).split(sep).join('/')] = createHash('sha256')
          .update(await readFile(p))
          .digest('hex');
    }
  };
  await walk(dir);
  return out;
}

export interface JsonLine {
  event: string;
  [k: string]: unknown;
}

/** A child process printing JSON lines; `next(pred)` waits for the first matching line. */
export class JsonProcess {
  readonly lines: JsonLine[] = [];
  private waiters: { pred: (l: JsonLine) => boolean; resolve: (l: JsonLine) => void }[] = [];
  stderr = '';
  readonly exited: Promise<number | null>;

  constructor(readonly proc: ChildProcess) {
    let buf = '';
    proc.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        let obj: JsonLine;
        try {
          obj = JSON.parse(line) as JsonLine;
        } catch {
          continue;
        }
        this.lines.push(obj);
        this.waiters = this.waiters.filter((w) => (w.pred(obj) ? (w.resolve(obj), false) : true));
      }
    });
    proc.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((r) => proc.once('exit', (code) => r(code)));
  }

  next(pred: (l: JsonLine) => boolean, timeoutMs = 60_000): Promise<JsonLine> {
    const found = this.lines.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((res, rej) => {
      const t = setTimeout(
        () => rej(new Error(`timeout waiting for a line; stderr: ${this.stderr.slice(-2000)}`)),
        timeoutMs,
      );
      this.waiters.push({ pred, resolve: (l) => (clearTimeout(t), res(l)) });
      void this.exited.then((code) =>
        rej(new Error(`process exited ${code}; stderr: ${this.stderr.slice(-2000)}`)),
      );
    });
  }

  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(signal);
    await this.exited;
  }
}

export function spawnNode(script: string, arg: unknown): JsonProcess {
  return new JsonProcess(
    spawn(process.execPath, [join(FIXTURES, script), JSON.stringify(arg)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
}

export async function startTrackerProcess(): Promise<{ proc: JsonProcess; http: string; udp: string }> {
  const proc = new JsonProcess(
    spawn(process.execPath, [join(FIXTURES, 'tracker.mjs')], { stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  const l = await proc.next(() => true, 30_000);
  return {
    proc,
    http: `http://127.0.0.1:${String(l.httpPort)}/announce`,
    udp: `udp://127.0.0.1:${String(l.udpPort)}`,
  };
}

/** A BEP 19 web seed: a static file server with HTTP Range support over `root` (files at /<path>). */
export async function startWebSeed(root: string): Promise<{ url: string; server: Server; requests: number }> {
  const state = { url: '', server: createServer(), requests: 0 };
  state.server.on('request', (req, res) => {
    state.requests++;
    const path = join(root, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    if (!path.startsWith(root)) return void res.writeHead(403).end();
    stat(path).then(
      (st) => {
        const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
        const start = m ? Number(m[1]) : 0;
        // RFC 7233 §2.1: a last-byte-pos past the end means "to the end". webtorrent 3.0.21 relies on it:
        // for a piece ending in a later file it asks past the end of the earlier one.
        const end = Math.min(m && m[2] ? Number(m[2]) : st.size - 1, st.size - 1);
        res.writeHead(m ? 206 : 200, {
          'content-length': end - start + 1,
          ...(m ? { 'content-range': `bytes ${start}-${end}/${st.size}` } : {}),
        });
        createReadStream(path, { start, end }).pipe(res);
      },
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((r) => state.server.listen(0, '127.0.0.1', r));
  const addr = state.server.address();
  state.url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/`;
  return state;
}

export async function cleanup(...dirs: string[]): Promise<void> {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
}
