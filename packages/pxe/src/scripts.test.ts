import { describe, expect, it } from 'vitest';
import { IPXE_BUSID, ipxeScript, pxelinuxConfig } from './scripts.js';

describe('ipxeScript', () => {
  it('names every initrd on the kernel command line for the EFI stub', () => {
    expect(
      ipxeScript({
        kernel: 'http://10.77.0.1:8080/phase1/vmlinuz',
        initrds: [
          'http://10.77.0.1:8080/phase1/base.cpio.gz',
          'http://10.77.0.1:8080/phase1/payload.cpio.zst?v=2',
        ],
        cmdline: 'console=ttyS0 quiet',
      }),
    ).toBe(
      [
        '#!ipxe',
        'kernel http://10.77.0.1:8080/phase1/vmlinuz initrd=base.cpio.gz initrd=payload.cpio.zst console=ttyS0 quiet',
        'initrd http://10.77.0.1:8080/phase1/base.cpio.gz',
        'initrd http://10.77.0.1:8080/phase1/payload.cpio.zst?v=2',
        'boot',
        '',
      ].join('\n'),
    );
  });

  it("leaves iPXE's busid setting in an initrd URL's folder for iPXE to expand, and names the file", () => {
    const url = `http://10.77.0.1:8080/phase1/nic/${IPXE_BUSID}/modules.cpio.xz`;
    expect(IPXE_BUSID).toBe('${netX/busid:hexraw}');
    const script = ipxeScript({
      kernel: 'http://10.77.0.1:8080/phase1/vmlinuz',
      initrds: [url],
      cmdline: '',
    });
    expect(script.split('\n').slice(1, 3)).toEqual([
      'kernel http://10.77.0.1:8080/phase1/vmlinuz initrd=modules.cpio.xz',
      'initrd http://10.77.0.1:8080/phase1/nic/${netX/busid:hexraw}/modules.cpio.xz',
    ]);
    // In the file name iPXE would name the image after the setting's value: refused.
    expect(() =>
      ipxeScript({ kernel: 'http://x/k', initrds: [`http://x/nic-${IPXE_BUSID}.xz`], cmdline: '' }),
    ).toThrow(expect.objectContaining({ code: 'PXE_BAD_OPTION' }));
  });

  it('refuses line breaks (script injection) and two initrds with the same name', () => {
    expect(() => ipxeScript({ kernel: 'http://x/k', initrds: [], cmdline: 'a\nshell' })).toThrow(
      expect.objectContaining({ code: 'PXE_BAD_OPTION' }),
    );
    expect(() =>
      ipxeScript({ kernel: 'http://x/k', initrds: ['http://x/a/i.gz', 'http://x/b/i.gz'], cmdline: '' }),
    ).toThrow(/share the file name/);
  });
});

describe('pxelinuxConfig', () => {
  it('boots one label at once with comma-separated initrds and IPAPPEND 2', () => {
    expect(
      pxelinuxConfig({
        kernel: 'vmlinuz',
        initrds: ['base.gz', 'payload.gz'],
        cmdline: 'console=ttyS0',
        serial: true,
      }),
    ).toBe(
      [
        'SERIAL 0 115200',
        'DEFAULT boottorrent',
        'PROMPT 0',
        'TIMEOUT 0',
        'LABEL boottorrent',
        '  KERNEL vmlinuz',
        '  INITRD base.gz,payload.gz',
        '  APPEND console=ttyS0',
        '  IPAPPEND 2',
        '',
      ].join('\n'),
    );
  });

  it('leaves out SERIAL unless asked', () => {
    expect(pxelinuxConfig({ kernel: 'k', initrds: [], cmdline: '' })).not.toContain('SERIAL');
  });
});
