import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';

/**
 * Debian's chromium, headless, driven over the DevTools protocol (Node's own WebSocket): enough to
 * load a page, run expressions in it, wait for a condition and take a screenshot. Test-only.
 */
export interface Page {
  send<T = Record<string, unknown>>(method: string, params?: Record<string, unknown>): Promise<T>;
  /** The value of an expression in the page (promises awaited). */
  evaluate<T = unknown>(expression: string): Promise<T>;
  /** Resolves once `expression` is truthy in the page (checked on every animation frame). */
  waitFor(expression: string): Promise<void>;
  /** Navigates and waits for the load event. */
  goto(url: string): Promise<void>;
  screenshot(): Promise<Buffer>;
}

export interface Browser {
  page: Page;
  close(): Promise<void>;
}

export async function launchChromium(opts: { width?: number; height?: number } = {}): Promise<Browser> {
  const profile = await mkdtemp(join(tmpdir(), 'bt-chromium-'));
  const child: ChildProcess = spawn(
    'chromium',
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--hide-scrollbars',
      '--no-first-run',
      '--disable-extensions',
      `--user-data-dir=${profile}`,
      '--remote-debugging-port=0',
      '--remote-debugging-address=127.0.0.1',
      `--window-size=${opts.width ?? 1400},${opts.height ?? 900}`,
      'about:blank',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await gone;
    }
    // chromium's helper processes can still be writing to the profile for a moment after the browser
    // process exits (CI saw ENOTEMPTY on its Default folder): rm retries those errors (up to ~5 s)
    await rm(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  };
  try {
    // Chromium prints its DevTools address on stderr once it listens.
    const wsBrowser = await new Promise<string>((resolve, reject) => {
      let err = '';
      child.once('error', (e) =>
        reject(new Error(`chromium did not start: ${e.message} (apt-get install chromium)`)),
      );
      child.once('exit', (code) => reject(new Error(`chromium exited with ${code}: ${err.slice(-500)}`)));
      child.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /DevTools listening on (ws:\/\/\S+)/.exec(err);
        if (m) resolve(m[1]!);
      });
    });
    const port = new URL(wsBrowser).port;
    // A page of our own: the about:blank one may not be listed yet when DevTools starts listening.
    const res = await fetch(`http://127.0.0.1:${port}/json/new?about:blank`, { method: 'PUT' });
    if (!res.ok) throw new Error(`chromium /json/new: HTTP ${res.status}`);
    const target = (await res.json()) as { webSocketDebuggerUrl: string };
    const page = await connect(target.webSocketDebuggerUrl);
    // The viewport, exactly: --window-size includes the (invisible) window frame.
    await page.send('Emulation.setDeviceMetricsOverride', {
      width: opts.width ?? 1400,
      height: opts.height ?? 900,
      deviceScaleFactor: 1,
      mobile: false,
    });
    return {
      page,
      close: async () => {
        await page.send('Browser.close').catch(() => undefined);
        await stop();
      },
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

async function connect(url: string): Promise<Page> {
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error(`cannot reach ${url}`));
  });
  let nextId = 1;
  const pending = new Map<number, { resolve: (v: never) => void; reject: (e: Error) => void }>();
  const listeners = new Set<(method: string, params: unknown) => void>();
  ws.onmessage = (m) => {
    const msg = JSON.parse(String(m.data)) as {
      id?: number;
      result?: never;
      error?: { message: string };
      method?: string;
      params?: unknown;
    };
    if (msg.id !== undefined) {
      const p = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error) p?.reject(new Error(msg.error.message));
      else p?.resolve(msg.result as never);
    } else if (msg.method) for (const l of listeners) l(msg.method, msg.params);
  };
  const send = <T>(method: string, params: Record<string, unknown> = {}) =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve: resolve as (v: never) => void, reject });
      ws.send(JSON.stringify({ id, method, params }));
    });
  const evaluate = async <T>(expression: string): Promise<T> => {
    const r = await send<{ result: { value?: T }; exceptionDetails?: { text: string } }>('Runtime.evaluate', {
      expression,
      awaitPromise: true,
      returnByValue: true,
    });
    if (r.exceptionDetails) throw new Error(`page: ${r.exceptionDetails.text} in ${expression}`);
    return r.result.value as T;
  };
  await send('Page.enable');
  await send('Runtime.enable');
  return {
    send,
    evaluate,
    waitFor: (expression) =>
      evaluate(
        `new Promise((resolve) => { const check = () => (${expression}) ? resolve(true) : requestAnimationFrame(check); check(); })`,
      ).then(() => undefined),
    goto: async (u) => {
      const loaded = new Promise<void>((resolve) => {
        const l = (method: string) => {
          if (method === 'Page.loadEventFired') {
            listeners.delete(l);
            resolve();
          }
        };
        listeners.add(l);
      });
      await send('Page.navigate', { url: u });
      await loaded;
    },
    screenshot: async () =>
      Buffer.from((await send<{ data: string }>('Page.captureScreenshot', { format: 'png' })).data, 'base64'),
  };
}

/** A decoded 8-bit RGB or RGBA PNG (what chromium writes): size and pixels. */
export interface Image {
  width: number;
  height: number;
  /** [r, g, b] at (x, y). */
  rgb(x: number, y: number): [number, number, number];
}

/** Decodes a non-interlaced 8-bit RGB/RGBA PNG (RFC 2083): chunks, zlib, and the five row filters. */
export function decodePng(png: Buffer): Image {
  if (!png.subarray(0, 8).equals(Buffer.from([137, 80, 78, 71, 13, 10, 26, 10])))
    throw new Error('not a PNG');
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  for (let off = 8; off < png.length;) {
    const len = png.readUInt32BE(off);
    const type = png.toString('latin1', off + 4, off + 8);
    const data = png.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const [depth, color, , , interlace] = data.subarray(8);
      if (depth !== 8 || interlace !== 0 || (color !== 2 && color !== 6))
        throw new Error(`PNG format not handled: depth ${depth}, colour ${color}, interlace ${interlace}`);
      channels = color === 6 ? 4 : 3;
    } else if (type === 'IDAT') idat.push(data);
    off += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const px = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const row = px.subarray(y * stride, (y + 1) * stride);
    const up = y ? px.subarray((y - 1) * stride, y * stride) : Buffer.alloc(stride);
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? row[i - channels]! : 0;
      const b = up[i]!;
      const c = i >= channels ? up[i - channels]! : 0;
      let v = src[i]!;
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      row[i] = v & 0xff;
    }
  }
  return {
    width,
    height,
    rgb: (x, y) => {
      const i = y * stride + x * channels;
      return [px[i]!, px[i + 1]!, px[i + 2]!];
    },
  };
}
