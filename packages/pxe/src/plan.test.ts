import { describe, expect, it } from 'vitest';
import type { Machine } from './machine.js';
import { staticPlan } from './plan.js';

const m = (o: Partial<Machine>): Machine => ({
  mac: 'aa:bb:cc:dd:ee:ff',
  arch: 0,
  userClass: null,
  vendorClass: 'PXEClient',
  uuid: null,
  isIpxe: false,
  interface: 'br0',
  ...o,
});
const scriptUrl = 'http://10.77.0.1:8080/boot.ipxe';

describe('staticPlan', () => {
  const plan = staticPlan({ scriptUrl });

  it.each([
    [0, 'undionly.kpxe'],
    [null, 'undionly.kpxe'],
    [6, 'ipxe-i386.efi'],
    [7, 'snponly.efi'],
    [9, 'snponly.efi'],
    [16, 'http://10.77.0.1:8080/snponly.efi'],
  ])('picks the loader for arch %s', (arch, file) => {
    expect(plan(m({ arch }))).toEqual({ bootFile: file });
  });

  it('refuses ARM64 firmware, PXE, HTTP boot and iPXE alike, because phase-1 is x86_64', () => {
    expect(plan(m({ arch: 11 }))).toEqual({
      refuse: 'arch-unsupported',
      detail: 'arm64 UEFI (arch 11), phase-1 is x86_64',
    });
    expect(plan(m({ arch: 19, vendorClass: 'HTTPClient:Arch:00019' }))).toMatchObject({
      refuse: 'arch-unsupported',
    });
    expect(plan(m({ arch: 11, isIpxe: true }))).toMatchObject({ refuse: 'arch-unsupported' });
    expect(staticPlan({ scriptUrl, phase1Arch: 'arm64' })(m({ arch: 11 }))).toEqual({
      bootFile: 'ipxe-arm64.efi',
    });
  });

  it('offers only loaders the server has, naming the missing one otherwise', () => {
    const p = staticPlan({ scriptUrl, available: ['undionly.kpxe', 'snponly.efi'] });
    expect(p(m({ arch: 0 }))).toEqual({ bootFile: 'undionly.kpxe' });
    expect(p(m({ arch: 16, vendorClass: 'HTTPClient:Arch:00016' }))).toEqual({
      bootFile: 'http://10.77.0.1:8080/snponly.efi',
    });
    expect(p(m({ arch: 6 }))).toEqual({
      refuse: 'loader-missing',
      detail: '32-bit UEFI (arch 6) needs ipxe-i386.efi, which this server does not have',
    });
    // 32-bit UEFI HTTP boot would need the 32-bit loader too, not the x86_64 snponly.efi.
    expect(p(m({ arch: 15, vendorClass: 'HTTPClient:Arch:00015' }))).toEqual({
      refuse: 'loader-missing',
      detail: '32-bit UEFI HTTP boot (arch 15) needs ipxe-i386.efi, which this server does not have',
    });
    // iPXE gets the script whatever loaders exist.
    expect(p(m({ arch: 6, isIpxe: true }))).toEqual({ bootFile: scriptUrl });
  });

  it('sends iPXE the script instead of another iPXE (no chain-load loop)', () => {
    expect(plan(m({ arch: 7, isIpxe: true }))).toEqual({ bootFile: scriptUrl });
  });

  it('returns null for an architecture it has no loader for', () => {
    expect(plan(m({ arch: 2 }))).toBeNull();
  });

  it('uses configured loaders, resolving a relative HTTP loader against the script URL', () => {
    const p = staticPlan({ scriptUrl, loaders: { efi64: 'ipxe.efi', http: 'efi/ipxe.efi' } });
    expect(p(m({ arch: 7 }))).toEqual({ bootFile: 'ipxe.efi' });
    expect(p(m({ arch: 16, vendorClass: 'HTTPClient:Arch:00016' }))).toEqual({
      bootFile: 'http://10.77.0.1:8080/efi/ipxe.efi',
    });
  });

  it('gives every BIOS client pxelinux.0 on the legacy path, iPXE included', () => {
    const p = staticPlan({ scriptUrl, legacyPxelinux: true });
    expect(p(m({ arch: 0, isIpxe: true }))).toEqual({ bootFile: 'pxelinux.0' });
    expect(p(m({ arch: 7 }))).toEqual({ bootFile: 'snponly.efi' });
  });

  it('rejects a script URL that is not a URL', () => {
    expect(() => staticPlan({ scriptUrl: 'boot.ipxe' })).toThrow(
      expect.objectContaining({ code: 'PXE_BAD_OPTION' }),
    );
  });
});
