/**
 * Pure TFTP codec: bytes ⇄ typed packets (RFC 1350 §5, RFC 2347 §2–3). No sockets here. The server's
 * hot path (ACKs during a transfer) reads the four header bytes itself and never allocates.
 */
import { Opcode } from './constants.js';
import { TftpError, TftpErrorCode } from './errors.js';

export interface RequestPacket {
  op: typeof Opcode.RRQ | typeof Opcode.WRQ;
  /** File name as sent, bytes mapped 1:1 to latin1 characters (so control bytes stay visible). */
  filename: string;
  /** Transfer mode, lower-cased (`octet`, `netascii`, `mail`, …). */
  mode: string;
  /** Options by lower-cased name, first occurrence wins, in request order (RFC 2347 §2). */
  options: Map<string, string>;
}
export interface DataPacket {
  op: typeof Opcode.DATA;
  block: number;
  data: Buffer;
}
export interface AckPacket {
  op: typeof Opcode.ACK;
  block: number;
}
export interface ErrorPacket {
  op: typeof Opcode.ERROR;
  code: number;
  message: string;
}
export interface OackPacket {
  op: typeof Opcode.OACK;
  options: Map<string, string>;
}
export type TftpPacket = RequestPacket | DataPacket | AckPacket | ErrorPacket | OackPacket;

/** At most this many options are read from one request; the rest are ignored (dnsmasq CVE-2009-2957). */
export const MAX_REQUEST_OPTIONS = 16;
/** Longest option name or value kept; longer ones make the request malformed. */
export const MAX_OPTION_LENGTH = 64;

function malformed(why: string): TftpError {
  return new TftpError(TftpErrorCode.Malformed, `malformed TFTP packet: ${why}`);
}

/** Splits NUL-terminated strings starting at `offset`; an unterminated tail is reported, not read. */
function cstrings(buf: Buffer, offset: number): { strings: string[]; unterminated: boolean } {
  const strings: string[] = [];
  let start = offset;
  while (start < buf.length) {
    const end = buf.indexOf(0, start);
    if (end === -1) return { strings, unterminated: true };
    strings.push(buf.toString('latin1', start, end));
    start = end + 1;
  }
  return { strings, unterminated: false };
}

function decodeOptions(strings: string[], from: number): Map<string, string> {
  const options = new Map<string, string>();
  for (let i = from; i + 1 < strings.length && options.size < MAX_REQUEST_OPTIONS; i += 2) {
    const name = strings[i]!.toLowerCase();
    const value = strings[i + 1]!;
    if (name === '') break; // NUL padding after the last option (seen from some PXE ROMs)
    if (name.length > MAX_OPTION_LENGTH || value.length > MAX_OPTION_LENGTH) {
      throw malformed(
        `option ${JSON.stringify(name.slice(0, 32))} is longer than ${MAX_OPTION_LENGTH} bytes`,
      );
    }
    if (!options.has(name)) options.set(name, value);
  }
  return options;
}

/** Decodes one datagram. Throws a {@link TftpError} with code `TFTP_MALFORMED` on anything invalid. */
export function decodePacket(buf: Buffer): TftpPacket {
  if (buf.length < 4) throw malformed(`${buf.length} bytes is shorter than any packet`);
  const op = buf.readUInt16BE(0);
  switch (op) {
    case Opcode.RRQ:
    case Opcode.WRQ: {
      const { strings, unterminated } = cstrings(buf, 2);
      if (strings.length < 2) throw malformed(unterminated ? 'unterminated file name or mode' : 'no mode');
      return {
        op,
        filename: strings[0]!,
        mode: strings[1]!.toLowerCase(),
        options: decodeOptions(strings, 2),
      };
    }
    case Opcode.DATA:
      return { op, block: buf.readUInt16BE(2), data: buf.subarray(4) };
    case Opcode.ACK:
      return { op, block: buf.readUInt16BE(2) };
    case Opcode.ERROR: {
      const end = buf.indexOf(0, 4);
      return {
        op,
        code: buf.readUInt16BE(2),
        message: buf.toString('latin1', 4, end === -1 ? buf.length : end),
      };
    }
    case Opcode.OACK: {
      const { strings } = cstrings(buf, 2);
      return { op, options: decodeOptions(strings, 0) };
    }
    default:
      throw malformed(`unknown opcode ${op}`);
  }
}

function strings(op: number, parts: string[]): Buffer {
  let len = 2;
  for (const p of parts) len += Buffer.byteLength(p, 'latin1') + 1;
  const buf = Buffer.alloc(len);
  buf.writeUInt16BE(op, 0);
  let at = 2;
  for (const p of parts) at += buf.write(p, at, 'latin1') + 1;
  return buf;
}

/** RRQ/WRQ: `| op | filename | 0 | mode | 0 | opt1 | 0 | value1 | 0 | …` (RFC 2347 §2). */
export function encodeRequest(
  op: typeof Opcode.RRQ | typeof Opcode.WRQ,
  filename: string,
  mode = 'octet',
  options: Record<string, string | number> = {},
): Buffer {
  const parts = [filename, mode];
  for (const [k, v] of Object.entries(options)) parts.push(k, String(v));
  return strings(op, parts);
}

/** OACK: `| 6 | opt1 | 0 | value1 | 0 | …` (RFC 2347 §3). */
export function encodeOack(options: Iterable<[string, string]>): Buffer {
  const parts: string[] = [];
  for (const [k, v] of options) parts.push(k, v);
  return strings(Opcode.OACK, parts);
}

/** ACK: `| 4 | block |`. */
export function encodeAck(block: number): Buffer {
  const buf = Buffer.allocUnsafe(4);
  buf.writeUInt16BE(Opcode.ACK, 0);
  buf.writeUInt16BE(block & 0xffff, 2);
  return buf;
}

/** DATA: `| 3 | block | data |` (copies; the server lays packets out in place instead). */
export function encodeData(block: number, data: Buffer): Buffer {
  const buf = Buffer.allocUnsafe(4 + data.length);
  buf.writeUInt16BE(Opcode.DATA, 0);
  buf.writeUInt16BE(block & 0xffff, 2);
  data.copy(buf, 4);
  return buf;
}

/**
 * ERROR: `| 5 | code | message | 0 |`. The message is sanitized to printable ASCII and 200 bytes so a
 * peer's own input (a file name) never travels back raw.
 */
export function encodeError(code: number, message: string): Buffer {
  const clean = message.replace(/[^\x20-\x7e]/g, '?').slice(0, 200);
  const buf = Buffer.alloc(5 + clean.length);
  buf.writeUInt16BE(Opcode.ERROR, 0);
  buf.writeUInt16BE(code & 0xffff, 2);
  buf.write(clean, 4, 'latin1');
  return buf;
}
