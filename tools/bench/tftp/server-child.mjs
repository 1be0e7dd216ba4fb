// Runs @boottorrent/tftp (built) in its own process for the benchmark, as tftpd-hpa runs in its own.
// Usage: node server-child.mjs ROOT PORT [WIRE] [WINDOW_BUFFER_BYTES]   — WIRE: native | dgram (default:
// the server's 'auto'); WINDOW_BUFFER_BYTES: windowBufferBytes (default: the server's).
// Prints "ready" when listening; with WIRE 'native' it fails at startup when the addon is not built.
import { startTftpServer } from '../../../packages/tftp/dist/index.js';

const [root, port, wire, windowBuffer] = process.argv.slice(2);
const server = await startTftpServer({
  root,
  host: '127.0.0.1',
  port: Number(port),
  ...(wire ? { wire } : {}),
  ...(windowBuffer ? { windowBufferBytes: Number(windowBuffer) } : {}),
});
process.stdout.write('ready\n');
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
