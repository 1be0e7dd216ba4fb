// A minimal BEP 19 web seed for tests: files under `root` over HTTP with Range support.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join, normalize } from 'node:path';

export async function startWebSeed(root: string, host = '127.0.0.1') {
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    const rel = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(
      /^(\.\.[/\\])+/,
      '',
    );
    const file = join(root, rel);
    stat(file).then(
      (s) => {
        const m = /bytes=(\d+)-(\d*)/.exec(req.headers.range ?? '');
        const start = m ? Number(m[1]) : 0;
        const end = m && m[2] ? Number(m[2]) : s.size - 1;
        res.writeHead(m ? 206 : 200, {
          'content-length': end - start + 1,
          ...(m ? { 'content-range': `bytes ${start}-${end}/${s.size}` } : {}),
        });
        createReadStream(file, { start, end }).pipe(res);
      },
      () => {
        res.writeHead(404).end();
      },
    );
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  return {
    url: `http://${host}:${(server.address() as { port: number }).port}/`,
    requests: () => requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
