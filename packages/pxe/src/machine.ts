/**
 * What the server knows about a booting machine, read from its DHCP request, and the policy seam
 * `planFor(machine) → plan | null` (STYLE.md §4, pixiecore's `Booter`).
 */
import { getClientArch, getClientUuid, getIpxeOptions, getUserClasses, getVendorClass } from './options.js';
import { macOf, type DhcpPacket } from './packet.js';

/** A machine asking to boot, as seen in its DHCP request. */
export interface Machine {
  /** MAC address, lowercase `aa:bb:cc:dd:ee:ff`. */
  mac: string;
  /** Client system architecture, option 93 (RFC 4578); from option 60 `PXEClient:Arch:NNNNN` if 93 is absent. */
  arch: number | null;
  /** User class, option 77 (several RFC 3004 classes are joined with `,`). */
  userClass: string | null;
  /** Vendor class, option 60, e.g. `PXEClient:Arch:00000:UNDI:002001`. */
  vendorClass: string | null;
  /** Client machine GUID, option 97, as 8-4-4-4-12 hex. */
  uuid: string | null;
  /** True for iPXE: user class "iPXE" or option 175 present. Such a client gets the HTTP script. */
  isIpxe: boolean;
  /** The interface the request came in on. */
  interface: string;
}

/** What to boot: a TFTP file name or an http:// URL, and the server holding it. */
export interface BootPlan {
  /** File name for TFTP, or an `http://` URL (iPXE, UEFI HTTP boot). */
  bootFile: string;
  /** siaddr, the TFTP server. @default the DHCP server's `serverAddress` */
  nextServer?: string;
}

/**
 * "Do not answer this machine, and here is why": a firmware the plan cannot boot. The server
 * emits `ignored` with this reason and detail instead of offering a loader that leads nowhere.
 */
export interface BootRefusal {
  refuse: 'arch-unsupported' | 'loader-missing';
  /** One line for the operator, e.g. `arm64, phase-1 is x86_64`. */
  detail: string;
}

/** What a plan says about a machine: boot this, refuse with a reason, or null (ignore silently). */
export type PlanResult = BootPlan | BootRefusal | null;

/** The policy seam: null means "do not answer this machine". May be async. */
export type PlanFor = (machine: Machine) => PlanResult | Promise<PlanResult>;

/** Reads a {@link Machine} from a request. Throws `PXE_MALFORMED_PACKET` on bad 93/97/77 values. */
export function machineOf(p: DhcpPacket, iface: string): Machine {
  const vendorClass = getVendorClass(p.options);
  const classes = getUserClasses(p.options);
  let arch = getClientArch(p.options)?.[0] ?? null;
  if (arch === null && vendorClass !== null) {
    const m = /^(?:PXEClient|HTTPClient):Arch:(\d{5})/.exec(vendorClass);
    if (m) arch = Number(m[1]);
  }
  return {
    mac: macOf(p),
    arch,
    userClass: classes ? classes.join(',') : null,
    vendorClass,
    uuid: getClientUuid(p.options),
    isIpxe: (classes?.includes('iPXE') ?? false) || getIpxeOptions(p.options) !== null,
    interface: iface,
  };
}

/** The firmware kind of a network-boot client, or null for a plain DHCP client (an OS, udhcpc). */
export type BootClientKind = 'PXEClient' | 'HTTPClient';

/**
 * A client is a boot client when it says so in option 60 (PXE spec §2.4 "PXEClient", UEFI spec
 * §24.7 "HTTPClient"), is iPXE, or sends option 93. Only boot clients get a boot plan.
 */
export function bootClientKind(m: Machine): BootClientKind | null {
  if (m.vendorClass?.startsWith('HTTPClient')) return 'HTTPClient';
  if (m.vendorClass?.startsWith('PXEClient') || m.isIpxe || m.arch !== null) return 'PXEClient';
  return null;
}
