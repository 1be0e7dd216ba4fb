// Runs @boottorrent/tftp (built) in its own process for the benchmark, as tftpd-hpa runs in its own.
// Usage: node server-child.mjs ROOT PORT [WIRE] [WINDOW_BUFFER_BYTES]   — WIRE: native | dgram (default:
// the server's 'auto'); WINDOW_BUFFER_BYTES: windowBufferBytes (default: the server's).
// Prints "ready" when listening; with WIRE 'native' it fails at startup when the addon is not built.
import { startTftpServer } from '../../../packages/tftp/dist/index.js';

const [root, port, wire, windowBuffer] = process.argv.slice(2);
// A failure to start (port in use, addon not built) is one line on stderr; the bench names the server.
const server = await startTftpServer({
  root,
  host: '127.0.0.1',
  port: Number(port),
  ...(wire ? { wire } : {}),
  ...(windowBuffer ? { windowBufferBytes: Number(windowBuffer) } : {}),
}).catch((err) => {
  const hint = err?.hint ? ` — ${err.hint}` : '';
  process.stderr.write(`tftp bench server: ${err instanceof Error ? err.message : String(err)}${hint}\n`);
  process.exit(1);
});
process.stdout.write('ready\n');
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
