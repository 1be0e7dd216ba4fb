import { describe, expect, it } from 'vitest';
import { ClientArch } from './constants.js';
import type { Machine } from './machine.js';
import { findLoader, HOST_LOADERS, requiredLoaders } from './loaders.js';
import { staticPlan } from './plan.js';

const machine = (arch: number | null): Machine => ({
  mac: '52:54:00:00:00:01',
  arch,
  userClass: null,
  vendorClass: 'PXEClient',
  uuid: null,
  isIpxe: false,
  interface: 'eth0',
});

describe('host loaders', () => {
  it('locates every loader the static plan hands to BIOS and UEFI x64 firmware', () => {
    const names = new Set(HOST_LOADERS.map((l) => l.name));
    for (const legacy of [false, true]) {
      const plan = staticPlan({ scriptUrl: 'http://10.0.0.1:8080/boot.ipxe', legacyPxelinux: legacy });
      for (const arch of [null, ClientArch.EfiX8664]) {
        const r = plan(machine(arch));
        const file = r && 'bootFile' in r ? r.bootFile : undefined;
        expect(file, `arch ${arch}`).toBeDefined();
        expect(names.has(file!), `${file} is in HOST_LOADERS`).toBe(true);
        expect(requiredLoaders(legacy)).toContain(file);
      }
      for (const r of requiredLoaders(legacy)) expect(names.has(r)).toBe(true);
    }
  });

  it('names no loader twice', () => {
    const names = HOST_LOADERS.map((l) => l.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('finds nothing for a loader whose package is not installed', async () => {
    expect(await findLoader({ name: 'x.efi', candidates: ['/nonexistent/x.efi'], pkg: 'x' })).toBeUndefined();
  });
});
