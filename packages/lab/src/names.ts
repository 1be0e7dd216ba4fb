// Names and addresses the lab hands to `ip` and QEMU, checked before any command runs.
import { randomBytes } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { LabError, LabErrorCode } from './errors.js';

let sequence = 0;

/**
 * A namespace name no other process and no earlier call of this one uses: `<prefix>-` then, in hex
 * without separators (so a log line's name matches `[0-9a-f]+`), this process's PID, a per-process
 * sequence number and two random bytes (a PID reused after a crash that left a namespace behind).
 */
export function uniqueName(prefix: string): string {
  checkPrefix(prefix);
  const seq = (sequence++ & 0xff).toString(16).padStart(2, '0');
  return `${prefix}-${process.pid.toString(16)}${seq}${randomBytes(2).toString('hex')}`;
}

/** A random locally administered MAC in QEMU's 52:54:00 range. */
export function randomMac(): string {
  return `52:54:00:${randomBytes(3).toString('hex').match(/../g)!.join(':')}`;
}

function checkPrefix(prefix: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/.test(prefix))
    throw new LabError(LabErrorCode.BadOption, `namespace prefix "${prefix}" is not a plain name`, {
      hint: 'use 1-40 letters, digits, "_", "." or "-", e.g. "btpxe"',
    });
}

/** Linux interface names: 1-15 bytes (IFNAMSIZ - 1), no "/", ":" or whitespace. */
export function checkIfName(name: string, what: string): void {
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(name))
    throw new LabError(LabErrorCode.BadOption, `${what} "${name}" is not a valid interface name`, {
      hint: 'use 1-15 letters, digits, "_", "." or "-" (Linux IFNAMSIZ)',
    });
}

export function checkMac(mac: string, what: string): void {
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(mac))
    throw new LabError(LabErrorCode.BadOption, `${what} "${mac}" is not a MAC address`, {
      hint: 'write it as six hex pairs, e.g. 52:54:00:77:00:10',
    });
}

/** An address with its prefix length, `10.77.0.1/24` or `fd77::1/64`; returns its family. */
export function checkCidr(cidr: string, what: string): 4 | 6 {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(cidr);
  const bits = m ? Number(m[2]) : -1;
  if (m && isIPv4(m[1]!) && bits <= 32) return 4;
  if (m && isIPv6(m[1]!) && bits <= 128) return 6;
  throw new LabError(LabErrorCode.BadOption, `${what} "${cidr}" is not an address with a prefix length`, {
    hint: 'write it as 10.77.0.1/24 or fd77::1/64',
  });
}
