// Runs @boottorrent/tftp (built) in its own process for the benchmark, as tftpd-hpa runs in its own.
// Usage: node server-child.mjs ROOT PORT   — prints "ready" when listening.
import { startTftpServer } from '../../../packages/tftp/dist/index.js';

const [root, port] = process.argv.slice(2);
const server = await startTftpServer({ root, host: '127.0.0.1', port: Number(port) });
process.stdout.write('ready\n');
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
