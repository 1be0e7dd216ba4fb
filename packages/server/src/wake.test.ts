import { describe, expect, it } from 'vitest';
import { MAGIC_PACKET_SIZE, magicPacket, normalizeWakeMac } from './wake.js';

describe('magicPacket', () => {
  it('is 6 × 0xFF then the MAC 16 times', () => {
    const p = magicPacket('52:54:00:AB:cd:0f');
    expect(p.length).toBe(102);
    expect(MAGIC_PACKET_SIZE).toBe(102);
    expect(p.subarray(0, 6)).toEqual(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
    const mac = Buffer.from([0x52, 0x54, 0x00, 0xab, 0xcd, 0x0f]);
    for (let i = 0; i < 16; i++) expect(p.subarray(6 + 6 * i, 12 + 6 * i)).toEqual(mac);
  });

  it('takes dashes and upper case', () => {
    expect(magicPacket('52-54-00-AB-CD-0F')).toEqual(magicPacket('52:54:00:ab:cd:0f'));
    expect(normalizeWakeMac(' 52-54-00-AB-CD-0F ')).toBe('52:54:00:ab:cd:0f');
  });

  it('refuses a bad MAC with one line saying how to write one', () => {
    for (const bad of ['52:54:00:12:34', '52:54:00:12:34:5g', 'zz', '', '52:54:00:12:34:56:78']) {
      expect(() => magicPacket(bad)).toThrowError(
        expect.objectContaining({ code: 'SERVER_BAD_OPTION', message: expect.stringMatching(/^bad MAC "/) }),
      );
    }
    try {
      magicPacket('a\nb');
    } catch (e) {
      expect((e as Error).message).not.toContain('\n');
    }
  });
});
