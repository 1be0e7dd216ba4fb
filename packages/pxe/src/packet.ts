/**
 * The DHCP codec: bytes ⇄ {@link DhcpPacket} (RFC 2131 §2 header, RFC 2132 options).
 *
 * Pure functions, no I/O. Every option is kept as raw bytes in `options`, in the order first seen;
 * typed accessors live in options.ts. Handles pad/end, option overload into `file`/`sname`
 * (RFC 2132 §9.3) and long options split into several instances (RFC 3396).
 */
import {
  BOOTP_HEADER_SIZE,
  BOOTP_MIN_SIZE,
  DEFAULT_MAX_MESSAGE_SIZE,
  DhcpOption,
  MAGIC_COOKIE,
  MAX_PACKET_SIZE,
} from './constants.js';
import { malformed, MalformedPacket, PxeError, PxeErrorCode } from './errors.js';
import { ipToBytes, bytesToIp } from './ip.js';

/** A decoded BOOTP/DHCP packet. Addresses are dotted quads; `chaddr` is the 16-byte field. */
export interface DhcpPacket {
  op: number;
  htype: number;
  hlen: number;
  hops: number;
  xid: number;
  secs: number;
  flags: number;
  ciaddr: string;
  yiaddr: string;
  siaddr: string;
  giaddr: string;
  chaddr: Uint8Array;
  /** Server host name field; empty when it carried overloaded options. */
  sname: string;
  /** Boot file field; empty when it carried overloaded options. */
  file: string;
  /** Every option by code, as raw bytes (instances of the same code concatenated, RFC 3396). */
  options: Map<number, Uint8Array>;
}

const SNAME_OFFSET = 44;
const SNAME_SIZE = 64;
const FILE_OFFSET = 108;
const FILE_SIZE = 128;
const OPTIONS_OFFSET = BOOTP_HEADER_SIZE + 4;

/** The broadcast bit of `flags` (RFC 2131 §2, figure 2). */
export const BROADCAST_FLAG = 0x8000;

/** Client MAC as `aa:bb:cc:dd:ee:ff` (lowercase), from `chaddr` and `hlen`. */
export function macOf(p: Pick<DhcpPacket, 'chaddr' | 'hlen'>): string {
  const n = Math.min(p.hlen, 16);
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push((p.chaddr[i] ?? 0).toString(16).padStart(2, '0'));
  return parts.join(':');
}

function cString(buf: Uint8Array, start: number, size: number): string {
  let s = '';
  for (let i = start; i < start + size && buf[i] !== 0; i++) s += String.fromCharCode(buf[i] as number);
  return s;
}

/**
 * Copies bytes into a fresh Uint8Array. Views into the receive buffer would keep Node's 8 KiB
 * pool slabs alive; measured 10× more GC time under a packet flood than small copies.
 */
function copy(buf: Uint8Array, start: number, end: number): Uint8Array {
  const v = new Uint8Array(end - start);
  for (let i = start; i < end; i++) v[i - start] = buf[i] as number;
  return v;
}

/**
 * Parses one option area. `allowOverload` is false inside `file`/`sname`: an option 52 there would
 * start a loop, so the packet is rejected.
 */
function parseArea(
  buf: Uint8Array,
  start: number,
  end: number,
  out: Map<number, Uint8Array>,
  allowOverload: boolean,
): void {
  let i = start;
  while (i < end) {
    const code = buf[i++] as number;
    if (code === DhcpOption.Pad) continue;
    if (code === DhcpOption.End) return;
    if (i >= end) throw malformed('option-overrun', `option ${code} has no length byte`);
    const len = buf[i++] as number;
    if (i + len > end) throw malformed('option-overrun', `option ${code} (length ${len}) runs past the end`);
    if (code === DhcpOption.OptionOverload && !allowOverload) {
      throw malformed('overload-loop', 'option 52 inside an overloaded field');
    }
    const value = copy(buf, i, i + len);
    const prev = out.get(code);
    if (prev) {
      const joined = new Uint8Array(prev.length + len);
      joined.set(prev);
      joined.set(value, prev.length);
      out.set(code, joined);
    } else out.set(code, value);
    i += len;
  }
  // Tolerated: an area that ends without the End option (many ROMs pad only).
}

/** Decodes a DHCP packet; throws {@link PxeError} `PXE_MALFORMED_PACKET` with a short `reason`. */
export function decodePacket(buf: Uint8Array): DhcpPacket {
  try {
    return decodeUnchecked(buf);
  } catch (e) {
    throw e instanceof MalformedPacket ? e.toError() : e;
  }
}

/** @internal {@link decodePacket} that throws the cheap {@link MalformedPacket} signal instead. */
export function decodeUnchecked(buf: Uint8Array): DhcpPacket {
  if (buf.length > MAX_PACKET_SIZE) throw malformed('oversized', `${buf.length} bytes > ${MAX_PACKET_SIZE}`);
  if (buf.length < OPTIONS_OFFSET) throw malformed('truncated', `${buf.length} bytes < ${OPTIONS_OFFSET}`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (view.getUint32(BOOTP_HEADER_SIZE) !== MAGIC_COOKIE)
    throw malformed('bad-cookie', 'no DHCP magic cookie');
  const hlen = buf[2] as number;
  if (hlen > 16) throw malformed('bad-hlen', `hlen ${hlen} > 16`);
  const options = new Map<number, Uint8Array>();
  parseArea(buf, OPTIONS_OFFSET, buf.length, options, true);
  let sname = cString(buf, SNAME_OFFSET, SNAME_SIZE);
  let file = cString(buf, FILE_OFFSET, FILE_SIZE);
  const overload = options.get(DhcpOption.OptionOverload);
  if (overload) {
    const v = overload[0];
    if (overload.length !== 1 || v === undefined || v < 1 || v > 3) {
      throw malformed('bad-overload', `option 52 value ${Buffer.from(overload).toString('hex')}`);
    }
    // RFC 2131 §4.1: options, then file, then sname.
    if (v & 1) {
      parseArea(buf, FILE_OFFSET, FILE_OFFSET + FILE_SIZE, options, false);
      file = '';
    }
    if (v & 2) {
      parseArea(buf, SNAME_OFFSET, SNAME_OFFSET + SNAME_SIZE, options, false);
      sname = '';
    }
  }
  return {
    op: buf[0] as number,
    htype: buf[1] as number,
    hlen,
    hops: buf[3] as number,
    xid: view.getUint32(4),
    secs: view.getUint16(8),
    flags: view.getUint16(10),
    ciaddr: bytesToIp(buf, 12),
    yiaddr: bytesToIp(buf, 16),
    siaddr: bytesToIp(buf, 20),
    giaddr: bytesToIp(buf, 24),
    chaddr: copy(buf, 28, 44),
    sname,
    file,
    options,
  };
}

/** TLV chunks of one option, split at 255 bytes (RFC 3396 §5). */
function chunks(code: number, value: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let off = 0;
  do {
    const len = Math.min(255, value.length - off);
    const c = new Uint8Array(len + 2);
    c[0] = code;
    c[1] = len;
    c.set(value.subarray(off, off + len), 2);
    out.push(c);
    off += len;
  } while (off < value.length);
  return out;
}

/** Options for {@link encodePacket}. */
export interface EncodeOptions {
  /** Largest packet to produce; bigger option sets spill into `file`/`sname` (overload). @default 576 */
  maxSize?: number;
}

/**
 * Encodes a packet. Options are written in map order (put 53 first). When they do not fit in
 * `maxSize`, they overflow into `file` and then `sname` with option 52, provided those are empty.
 */
export function encodePacket(p: DhcpPacket, opts: EncodeOptions = {}): Buffer {
  const maxSize = Math.max(opts.maxSize ?? DEFAULT_MAX_MESSAGE_SIZE, BOOTP_MIN_SIZE);
  const all: Uint8Array[] = [];
  for (const [code, value] of p.options) {
    if (code === DhcpOption.Pad || code === DhcpOption.End || code === DhcpOption.OptionOverload) continue;
    all.push(...chunks(code, value));
  }
  const total = all.reduce((n, c) => n + c.length, 0);
  const main: Uint8Array[] = [];
  const fileArea: Uint8Array[] = [];
  const snameArea: Uint8Array[] = [];
  let overload = 0;
  if (OPTIONS_OFFSET + total + 1 <= maxSize) {
    main.push(...all);
  } else {
    // Reserve 3 bytes for option 52 and 1 for End in the main area, 1 for End in each field.
    let room = maxSize - OPTIONS_OFFSET - 4;
    let fileRoom = p.file === '' ? FILE_SIZE - 1 : -1;
    let snameRoom = p.sname === '' ? SNAME_SIZE - 1 : -1;
    for (const c of all) {
      if (c.length <= room) {
        main.push(c);
        room -= c.length;
      } else if (c.length <= fileRoom) {
        fileArea.push(c);
        fileRoom -= c.length;
        overload |= 1;
      } else if (c.length <= snameRoom) {
        snameArea.push(c);
        snameRoom -= c.length;
        overload |= 2;
      } else {
        throw new PxeError(
          PxeErrorCode.PacketTooLarge,
          `DHCP options (${total} bytes) do not fit in ${maxSize} bytes`,
        );
      }
    }
  }
  if (overload) main.unshift(Uint8Array.of(DhcpOption.OptionOverload, 1, overload));
  const optLen = main.reduce((n, c) => n + c.length, 0) + 1;
  const buf = Buffer.alloc(Math.max(BOOTP_MIN_SIZE, OPTIONS_OFFSET + optLen));
  buf[0] = p.op;
  buf[1] = p.htype;
  buf[2] = p.hlen;
  buf[3] = p.hops;
  buf.writeUInt32BE(p.xid >>> 0, 4);
  buf.writeUInt16BE(p.secs, 8);
  buf.writeUInt16BE(p.flags, 10);
  buf.set(ipToBytes(p.ciaddr), 12);
  buf.set(ipToBytes(p.yiaddr), 16);
  buf.set(ipToBytes(p.siaddr), 20);
  buf.set(ipToBytes(p.giaddr), 24);
  buf.set(p.chaddr.subarray(0, 16), 28);
  writeField(buf, SNAME_OFFSET, SNAME_SIZE, p.sname, snameArea, 'sname');
  writeField(buf, FILE_OFFSET, FILE_SIZE, p.file, fileArea, 'file');
  buf.writeUInt32BE(MAGIC_COOKIE, BOOTP_HEADER_SIZE);
  let off = OPTIONS_OFFSET;
  for (const c of main) {
    buf.set(c, off);
    off += c.length;
  }
  buf[off] = DhcpOption.End;
  return buf;
}

function writeField(
  buf: Buffer,
  at: number,
  size: number,
  text: string,
  area: Uint8Array[],
  name: string,
): void {
  if (area.length > 0) {
    let off = at;
    for (const c of area) {
      buf.set(c, off);
      off += c.length;
    }
    buf[off] = DhcpOption.End;
    return;
  }
  const bytes = Buffer.from(text, 'latin1');
  if (bytes.length >= size)
    throw new PxeError(PxeErrorCode.BadOption, `${name} "${text}" is longer than ${size - 1} bytes`);
  buf.set(bytes, at);
}
