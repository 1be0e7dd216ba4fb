import { describe, expect, it } from 'vitest';
import { ensureRequirements, type Requirement } from './debian.js';
import { LabError, LabErrorCode } from './errors.js';

const req = (what: string, pkg: string, present: boolean): Requirement => ({
  what,
  pkg,
  present: async () => present,
});

describe('ensureRequirements', () => {
  it('names every missing thing and one apt-get line for their packages, then how to install instead', async () => {
    const err = await ensureRequirements(
      [
        req('qemu-system-x86_64', 'qemu-system-x86', false),
        req('ip (iproute2)', 'iproute2', true),
        req("QEMU's iPXE NIC ROMs", 'ipxe-qemu', false),
        req('iPXE boot loaders', 'ipxe-qemu', false),
      ],
      { install: false, installHint: 'boottorrent lab --install-deps' },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LabError);
    expect(err).toMatchObject({
      code: LabErrorCode.MissingTool,
      message: "the lab needs qemu-system-x86_64, QEMU's iPXE NIC ROMs, iPXE boot loaders",
      hint: 'apt-get install qemu-system-x86 ipxe-qemu   (or: boottorrent lab --install-deps)',
    });
  });

  it('gives the apt-get line alone without an install hint, and installs nothing when all is there', async () => {
    const err = await ensureRequirements([req('dnsmasq', 'dnsmasq-base', false)], { install: false }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ hint: 'apt-get install dnsmasq-base' });
    const lines: string[] = [];
    await ensureRequirements([req('ip', 'iproute2', true)], {
      install: true,
      logger: { info: (l) => lines.push(l) },
    });
    expect(lines).toEqual([]);
  });
});
