import { describe, expect, it } from 'vitest';
import { LabError } from './errors.js';
import { checkCidr, checkIfName, checkMac, randomMac, uniqueName } from './names.js';

describe('uniqueName', () => {
  it('is the prefix, then hex only, starting with this process id', () => {
    const name = uniqueName('bt-lab');
    expect(name).toMatch(/^bt-lab-[0-9a-f]+$/);
    expect(name.slice('bt-lab-'.length).startsWith(process.pid.toString(16))).toBe(true);
  });

  it('never repeats within a process', () => {
    const names = new Set(Array.from({ length: 200 }, () => uniqueName('x')));
    expect(names.size).toBe(200);
  });

  it('refuses a prefix that is not a plain name', () => {
    expect(() => uniqueName('a b')).toThrow(expect.objectContaining({ code: 'LAB_BAD_OPTION' }));
    expect(() => uniqueName('../x')).toThrow(LabError);
    expect(() => uniqueName('')).toThrow(LabError);
  });
});

describe('checks before any command runs', () => {
  it('knows IPv4 from IPv6 and wants a prefix length', () => {
    expect(checkCidr('10.77.0.1/24', 'a')).toBe(4);
    expect(checkCidr('fd77::1/64', 'a')).toBe(6);
    for (const bad of ['10.77.0.1', '10.77.0.1/33', 'fd77::1/129', '10.77.0.300/24', 'br0/24'])
      expect(() => checkCidr(bad, 'bridge address'), bad).toThrow(
        expect.objectContaining({ code: 'LAB_BAD_OPTION', message: expect.stringContaining(bad) }),
      );
  });

  it('takes interface names of at most 15 bytes without separators', () => {
    expect(() => checkIfName('tap0', 'tap')).not.toThrow();
    expect(() => checkIfName('a'.repeat(15), 'tap')).not.toThrow();
    for (const bad of ['a'.repeat(16), 'br/0', 'eth0:1', 'tap 0', ''])
      expect(() => checkIfName(bad, 'tap'), bad).toThrow(expect.objectContaining({ code: 'LAB_BAD_OPTION' }));
  });

  it('takes MACs as six hex pairs', () => {
    expect(() => checkMac('52:54:00:77:00:1A', 'mac')).not.toThrow();
    for (const bad of ['52:54:00:77:00', '52-54-00-77-00-10', '52:54:00:77:00:1g'])
      expect(() => checkMac(bad, 'mac'), bad).toThrow(expect.objectContaining({ code: 'LAB_BAD_OPTION' }));
  });

  it("makes random MACs in QEMU's locally administered range", () => {
    const macs = new Set(Array.from({ length: 50 }, randomMac));
    for (const m of macs) expect(m).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
    expect(macs.size).toBeGreaterThan(1);
  });
});
