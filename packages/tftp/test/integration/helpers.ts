/** Shared pieces of the integration tests: real tools, temp roots, a scriptable client with a lossy seam. */
import { spawn, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, mkdtempSync, rmSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeAck, encodeRequest, Opcode } from '../../src/index.js';

/** Absolute path of a Debian tool the tests drive; throws (the test fails, never skips) when missing. */
export function tool(name: string): string {
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error(
      `${name} is not installed: run "bash tools/setup.sh" (it installs tftp-hpa, curl, atftp, busybox)`,
    );
  }
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command with a hard timeout; resolves with its exit code and output. */
export function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Debian's tftp-hpa client, one command against 127.0.0.1: `tftp 127.0.0.1 <port> -m <mode> -c <command> <files…>`. */
export function tftpHpa(
  port: number,
  mode: 'binary' | 'netascii',
  command: 'get' | 'put',
  files: string[],
  opts?: { timeoutMs?: number },
): Promise<RunResult> {
  return run(tool('tftp'), ['127.0.0.1', String(port), '-m', mode, '-c', command, ...files], opts);
}

/** A temp directory (removed by `cleanup`) with helpers to create files of random bytes. */
export function tempRoot(prefix = 'bt-tftp-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    /** Writes `size` random bytes to `name`; returns their sha256. Large files are written in pieces. */
    file(name: string, size: number): string {
      const hash = createHash('sha256');
      const fd = openSync(join(dir, name), 'w');
      const piece = randomBytes(Math.min(size, 1 << 20));
      for (let done = 0; done < size;) {
        const n = Math.min(piece.length, size - done);
        piece[0] = done & 0xff; // vary the pieces so a misplaced block changes the hash
        piece[1] = (done >>> 8) & 0xff;
        piece[2] = (done >>> 16) & 0xff;
        writeSync(fd, piece, 0, n);
        hash.update(piece.subarray(0, n));
        done += n;
      }
      closeSync(fd);
      return hash.digest('hex');
    },
    text(name: string, content: string): void {
      writeFileSync(join(dir, name), content);
    },
    cleanup(): void {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export interface DownloadOptions {
  port: number;
  file: string;
  host?: string;
  mode?: string;
  options?: Record<string, string | number>;
  /** Lossy seam: return true to drop this incoming DATA (block number on the wire, n-th DATA seen). */
  dropData?: (block: number, nth: number) => boolean;
  /** Lossy seam: return true to drop this outgoing ACK. */
  dropAck?: (block: number, nth: number) => boolean;
  /** Send every ACK twice, as a receiver that saw a retransmitted block does. */
  duplicateAcks?: boolean;
  /** Client retransmission timeout. @default 100 */
  timeoutMs?: number;
  /** Give up after this long. @default 30000 */
  deadlineMs?: number;
}

export interface DownloadResult {
  data: Buffer;
  oack: Map<string, string> | undefined;
  error: { code: number; message: string } | undefined;
  dataPackets: number;
  duplicates: number;
  acks: number;
}

/**
 * A small RFC 1350/2347/7440 receiver driven from the test, with a lossy socket wrapper: chosen DATA
 * packets are dropped on arrival and chosen ACKs are never sent. On a gap it acknowledges the last
 * in-order block once (RFC 7440 §4); on its timeout it re-sends its last ACK.
 */
export function download(o: DownloadOptions): Promise<DownloadResult> {
  const sock: Socket = createSocket('udp4');
  const host = o.host ?? '127.0.0.1';
  const chunks: Buffer[] = [];
  let oack: Map<string, string> | undefined;
  let serverPort = 0;
  let blksize = 512;
  let windowsize = 1;
  let expected = 1; // absolute next block
  let inWindow = 0;
  let gapAcked = false;
  let nthData = 0;
  let nthAck = 0;
  let dataPackets = 0;
  let duplicates = 0;
  let acks = 0;
  let lastAck: Buffer | undefined;
  const request = encodeRequest(Opcode.RRQ, o.file, o.mode ?? 'octet', o.options ?? {});
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout;
    const deadline = setTimeout(
      () => finish(new Error(`download of ${o.file} did not finish in time`)),
      o.deadlineMs ?? 30_000,
    );
    let done = false;
    const finish = (err?: Error, error?: { code: number; message: string }) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(deadline);
      sock.close();
      if (err) reject(err);
      else resolve({ data: Buffer.concat(chunks), oack, error, dataPackets, duplicates, acks });
    };
    const sendAck = (block: number, then?: () => void) => {
      const pkt = encodeAck(block);
      lastAck = pkt;
      acks++;
      if (o.dropAck?.(block & 0xffff, nthAck++)) return then?.();
      if (o.duplicateAcks) sock.send(pkt, serverPort, host);
      sock.send(pkt, serverPort, host, () => then?.()); // dgram sends are asynchronous: close after
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        if (done) return;
        if (lastAck) sock.send(lastAck, serverPort, host);
        else sock.send(request, o.port, host);
        arm();
      }, o.timeoutMs ?? 100);
    };
    sock.on('message', (msg, rinfo) => {
      if (done || msg.length < 4) return;
      if (serverPort === 0) serverPort = rinfo.port;
      else if (rinfo.port !== serverPort) return; // RFC 1350 §4: not our transfer
      const op = msg.readUInt16BE(0);
      if (op === Opcode.ERROR)
        return finish(undefined, {
          code: msg.readUInt16BE(2),
          message: msg.toString('latin1', 4).replace(/\0.*$/s, ''),
        });
      if (op === Opcode.OACK) {
        if (oack) return;
        oack = new Map();
        const parts = msg.toString('latin1', 2).split('\0');
        for (let i = 0; i + 1 < parts.length; i += 2) oack.set(parts[i]!, parts[i + 1]!);
        blksize = Number(oack.get('blksize') ?? 512);
        windowsize = Number(oack.get('windowsize') ?? 1);
        sendAck(0);
        arm();
        return;
      }
      if (op !== Opcode.DATA) return;
      const block = msg.readUInt16BE(2);
      if (o.dropData?.(block, nthData++)) return;
      dataPackets++;
      arm();
      if (block !== (expected & 0xffff)) {
        duplicates++;
        if (!gapAcked) {
          gapAcked = true;
          inWindow = 0;
          sendAck(expected - 1);
        }
        return;
      }
      gapAcked = false;
      chunks.push(Buffer.from(msg.subarray(4)));
      expected++;
      inWindow++;
      if (msg.length - 4 < blksize) {
        clearTimeout(timer);
        sendAck(expected - 1, () => finish());
        return;
      }
      if (inWindow >= windowsize) {
        inWindow = 0;
        sendAck(expected - 1);
      }
    });
    sock.bind(0, '127.0.0.1', () => {
      sock.send(request, o.port, host);
      arm();
    });
  });
}

/**
 * The datagram wires of the transfer sockets (option `wire`): every integration suite runs once on
 * each. 'native' needs the addon built (`npx nx build @boottorrent/tftp`); without it the server
 * refuses to start and the suite fails, it never skips.
 */
export const WIRES = ['native', 'dgram'] as const;

/**
 * The built server (test/fixtures/netns-server.mjs) running inside namespace `ns`, with a reader of
 * the JSON lines it prints. `kill()` ends it.
 */
export function serverInNetns(ns: string, root: string, wire: string, options: object = {}) {
  const dist = fileURLToPath(new URL('../../dist/index.js', import.meta.url));
  if (!existsSync(dist))
    throw new Error('packages/tftp/dist is missing: run "npx nx build @boottorrent/tftp" first');
  const fixture = fileURLToPath(new URL('../fixtures/netns-server.mjs', import.meta.url));
  const child = spawn(
    tool('ip'),
    ['netns', 'exec', ns, process.execPath, fixture, root, wire, JSON.stringify(options)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines: Record<string, unknown>[] = [];
  let onLine: () => void = () => undefined;
  let buf = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf('\n'); i !== -1; i = buf.indexOf('\n')) {
      lines.push(JSON.parse(buf.slice(0, i)) as Record<string, unknown>);
      buf = buf.slice(i + 1);
      onLine();
    }
  });
  return {
    /** The first line with `key` (port, start, end), waiting up to 20 s for it. */
    waitFor<T>(key: string): Promise<T> {
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no ${key} from the server in ${ns}`)), 20_000);
        const check = () => {
          const hit = lines.find((l) => key in l);
          if (hit) {
            clearTimeout(t);
            resolve(hit[key] as T);
          }
        };
        onLine = check;
        check();
      });
    },
    kill(): void {
      if (child.pid && child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
