import { describe, expect, it } from 'vitest';
import { ipxeScript, pxelinuxConfig } from './scripts.js';

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
