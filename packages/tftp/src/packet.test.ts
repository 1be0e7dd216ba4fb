import { describe, expect, it } from 'vitest';
import { Opcode } from './constants.js';
import { decodePacket, encodeAck, encodeData, encodeError, encodeOack, encodeRequest } from './packet.js';

describe('packet codec', () => {
  it('decodes an RRQ with options (RFC 2347 §2 layout)', () => {
    // | 00 01 | "boot.ipxe" 00 | "octet" 00 | "blksize" 00 | "1468" 00 | "tsize" 00 | "0" 00 |
    const bytes = Buffer.from('\x00\x01boot.ipxe\x00OCTET\x00BlkSize\x001468\x00tsize\x000\x00', 'latin1');
    const p = decodePacket(bytes);
    expect(p).toEqual({
      op: Opcode.RRQ,
      filename: 'boot.ipxe',
      mode: 'octet',
      options: new Map([
        ['blksize', '1468'],
        ['tsize', '0'],
      ]),
    });
  });

  it('round-trips requests, OACK, ACK, DATA and ERROR', () => {
    const rrq = encodeRequest(Opcode.RRQ, 'a/b', 'netascii', { windowsize: 16 });
    expect(decodePacket(rrq)).toMatchObject({ op: 1, filename: 'a/b', mode: 'netascii' });
    const oack = encodeOack([['blksize', '512']]);
    expect(oack).toEqual(Buffer.from('\x00\x06blksize\x00512\x00', 'latin1'));
    expect(decodePacket(oack)).toEqual({ op: Opcode.OACK, options: new Map([['blksize', '512']]) });
    expect(encodeAck(65536)).toEqual(Buffer.from([0, 4, 0, 0]));
    expect(decodePacket(encodeAck(7))).toEqual({ op: Opcode.ACK, block: 7 });
    expect(decodePacket(encodeData(3, Buffer.from('hi')))).toEqual({
      op: 3,
      block: 3,
      data: Buffer.from('hi'),
    });
    expect(decodePacket(encodeError(2, 'nope'))).toEqual({ op: 5, code: 2, message: 'nope' });
  });

  it('keeps the first of repeated options and ignores NUL padding after the last one', () => {
    const bytes = Buffer.from(
      '\x00\x01f\x00octet\x00blksize\x00512\x00blksize\x009000\x00\x00\x00\x00',
      'latin1',
    );
    const p = decodePacket(bytes);
    expect(p.op === Opcode.RRQ && [...p.options]).toEqual([['blksize', '512']]);
  });

  it('reads at most 16 options from one request', () => {
    const opts: Record<string, string> = {};
    for (let i = 0; i < 40; i++) opts[`o${i}`] = '1';
    const p = decodePacket(encodeRequest(Opcode.RRQ, 'f', 'octet', opts));
    expect(p.op === Opcode.RRQ && p.options.size).toBe(16);
  });

  it.each([
    ['empty', Buffer.alloc(0)],
    ['one byte', Buffer.from([0])],
    ['three bytes', Buffer.from([0, 4, 0])],
    ['unknown opcode', Buffer.from([0, 9, 0, 0])],
    ['opcode zero', Buffer.from([0, 0, 0, 0])],
    ['RRQ without mode', Buffer.from('\x00\x01file\x00', 'latin1')],
    ['RRQ with unterminated name', Buffer.from('\x00\x01file', 'latin1')],
    ['overlong option value', encodeRequest(Opcode.RRQ, 'f', 'octet', { blksize: '9'.repeat(100) })],
  ])('rejects a malformed packet: %s', (_name, bytes) => {
    expect(() => decodePacket(bytes)).toThrow(expect.objectContaining({ code: 'TFTP_MALFORMED' }));
  });

  it('sanitizes ERROR messages to printable ASCII and 200 bytes', () => {
    const p = decodePacket(encodeError(1, `bad\x00\x1b[2J${'x'.repeat(500)}`));
    expect(p.op === Opcode.ERROR && p.message).toMatch(/^bad\?\?\[2Jx+$/);
    expect(p.op === Opcode.ERROR && p.message.length).toBe(200);
  });
});
