// QEMU's human monitor (HMP) on a unix socket: one command, its answer, then hang up.
import { connect } from 'node:net';
import { LabError, LabErrorCode } from './errors.js';

const PROMPT = '(qemu) ';
// HMP echoes what it reads with line-editing sequences (ESC [ K, ESC [ D); drop them from answers.
// eslint-disable-next-line no-control-regex
const VT100 = /\x1b\[[0-9;]*[A-Za-z]/g;

/**
 * Sends `command` to the monitor at `socket` and resolves with its answer ('' when it printed
 * nothing, as `screendump` does on success). Rejects with LAB_MONITOR when the socket does not answer.
 */
export function hmp(socket: string, command: string, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const conn = connect(socket);
    let buf = '';
    let sent = false;
    const fail = (why: string, cause?: unknown) => {
      clearTimeout(timer);
      conn.destroy();
      reject(new LabError(LabErrorCode.Monitor, `QEMU monitor ${socket}: ${why} (${command})`, { cause }));
    };
    const timer = setTimeout(() => fail(`no answer in ${timeoutMs} ms`), timeoutMs);
    conn.on('error', (e) => fail(e.message, e));
    conn.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      if (!buf.endsWith(PROMPT)) return;
      if (!sent) {
        sent = true;
        buf = '';
        conn.write(`${command}\n`);
        return;
      }
      // The echo of the command ends with the first CRLF; the answer runs up to the next prompt.
      const end = buf.indexOf('\r\n');
      if (end === -1) return;
      clearTimeout(timer);
      conn.end();
      resolve(
        buf
          .slice(end + 2, -PROMPT.length)
          .replace(VT100, '')
          .trim(),
      );
    });
  });
}
