/** Text builders for the boot scripts served to clients: an iPXE script and a pxelinux.cfg file. */
import { PxeError, PxeErrorCode } from './errors.js';

/** Options of {@link ipxeScript} and {@link pxelinuxConfig}. */
export interface BootScriptOptions {
  /** Kernel: a URL for iPXE, a TFTP path (or URL with lpxelinux.0) for pxelinux. */
  kernel: string;
  /** Initrds, loaded in order (the kernel concatenates them). */
  initrds: string[];
  /** Kernel command line. */
  cmdline: string;
}

function check(what: string, value: string, allowSpaces: boolean): void {
  const bad = allowSpaces ? /[\r\n\0]/ : /[\s\0]/;
  if (value === '' || bad.test(value)) {
    throw new PxeError(
      PxeErrorCode.BadOption,
      `${what} ${JSON.stringify(value)} is empty or contains ${allowSpaces ? 'a line break' : 'whitespace'}`,
    );
  }
}

/**
 * iPXE's setting for the bus id of the NIC it booted from, as a script writes it: 5 bytes (bus type
 * 1 = PCI, then vendor and device, big-endian) as plain hex, e.g. `018086100e` for QEMU's e1000.
 * `netX` is the last network device opened (the boot NIC); `busid` comes from the device's PCI
 * config space for iPXE's own drivers (src/drivers/bus/pci.c), from the PXE ROM's UNDI for
 * undionly.kpxe (src/arch/x86/drivers/net/undionly.c) and from the PCI parent of the SNP/NII handle
 * for snponly.efi (src/interface/efi/efi_utils.c `efi_device_info`), else bus type 7 (EFI) with no
 * ids. iPXE expands `${…}` in every command's arguments before running it, an unknown setting to
 * nothing (src/core/settings.c `expand_settings`). In iPXE since 2013 (`hexraw`, commit 9f3bbac).
 */
export const IPXE_BUSID = '${netX/busid:hexraw}';

/**
 * The file name iPXE gives an image fetched from `url`: the last path segment, without the query
 * (src/core/image.c `image_set_uri`). A setting there (`${…}`) is refused: iPXE would name the image
 * after its value, which the kernel command line cannot know.
 */
function imageName(url: string): string {
  const path = url.replace(/[?#].*$/, '');
  const name = decodeURIComponent(path.slice(path.lastIndexOf('/') + 1));
  if (name === '' || /\s/.test(name) || name.includes('${') || name.includes('}'))
    throw new PxeError(PxeErrorCode.BadOption, `initrd URL "${url}" has no plain file name`, {
      hint: 'put iPXE settings (${…}) in a folder of the URL or its query, not its last segment',
    });
  return name;
}

/**
 * An iPXE script that boots `kernel` with `initrds`. Each initrd is named on the command line
 * (`initrd=<name>`), which the Linux EFI stub needs under iPXE-EFI to find them (lab-facts §7.5)
 * and which BIOS boots ignore.
 */
export function ipxeScript(opts: BootScriptOptions): string {
  check('kernel', opts.kernel, false);
  if (opts.cmdline !== '') check('cmdline', opts.cmdline, true);
  const names = opts.initrds.map((u) => {
    check('initrd', u, false);
    return imageName(u);
  });
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined)
    throw new PxeError(
      PxeErrorCode.BadOption,
      `two initrds share the file name "${dup}"; iPXE would replace one`,
    );
  const args = [...names.map((n) => `initrd=${n}`), opts.cmdline].filter((s) => s !== '').join(' ');
  return [
    '#!ipxe',
    `kernel ${opts.kernel}${args ? ` ${args}` : ''}`,
    ...opts.initrds.map((u) => `initrd ${u}`),
    'boot',
    '',
  ].join('\n');
}

/** Options of {@link pxelinuxConfig}. */
export interface PxelinuxConfigOptions extends BootScriptOptions {
  /** Also print to the first serial port at 115200 baud (`SERIAL 0 115200`). @default false */
  serial?: boolean;
}

/**
 * A pxelinux.cfg/default for the legacy path: one label booted at once, initrds comma-separated,
 * `IPAPPEND 2` so the kernel learns the boot interface (`BOOTIF=01-aa-bb-…`).
 */
export function pxelinuxConfig(opts: PxelinuxConfigOptions): string {
  check('kernel', opts.kernel, false);
  if (opts.cmdline !== '') check('cmdline', opts.cmdline, true);
  for (const i of opts.initrds) {
    check('initrd', i, false);
    if (i.includes(','))
      throw new PxeError(
        PxeErrorCode.BadOption,
        `initrd "${i}" contains a comma, the pxelinux list separator`,
      );
  }
  return [
    ...(opts.serial ? ['SERIAL 0 115200'] : []),
    'DEFAULT boottorrent',
    'PROMPT 0',
    'TIMEOUT 0',
    'LABEL boottorrent',
    `  KERNEL ${opts.kernel}`,
    ...(opts.initrds.length > 0 ? [`  INITRD ${opts.initrds.join(',')}`] : []),
    ...(opts.cmdline !== '' ? [`  APPEND ${opts.cmdline}`] : []),
    '  IPAPPEND 2',
    '',
  ].join('\n');
}
