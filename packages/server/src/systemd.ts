import { ServerError, ServerErrorCode } from './errors.js';

/** The system user the service runs as (created by systemd-sysusers from {@link sysusersConfig}). */
export const DEFAULT_SERVICE_USER = 'boottorrent';
/** Where unit files for the local administrator go. */
export const SYSTEMD_UNIT_DIR = '/etc/systemd/system';
/** Where sysusers.d snippets go. */
export const SYSUSERS_DIR = '/etc/sysusers.d';

/** Options of {@link systemdUnit}. */
export interface UnitOptions {
  /** The project directory (absolute): `boottorrent start <dir>` runs on it, and it stays writable. */
  projectDir: string;
  /** Absolute path of the Node binary. */
  node: string;
  /** Absolute path of the boottorrent CLI script (`dist/cli.js`). */
  cli: string;
  /** DHCP needs CAP_NET_RAW (SO_BINDTOIFINDEX); without it only CAP_NET_BIND_SERVICE is granted. */
  dhcp: boolean;
  /** @default {@link DEFAULT_SERVICE_USER} */
  user?: string;
}

/** `boottorrent-<name>.service`: the name is the project folder's, made safe for a unit name. */
export function unitName(projectDir: string): string {
  const base = projectDir.replace(/\/+$/, '').split('/').pop() || 'root';
  const safe = base.replace(/[^A-Za-z0-9:_.-]/g, '_');
  return `boottorrent-${safe}.service`;
}

/**
 * A path or word as a unit file needs it: `%` doubled (systemd specifiers), and refused when it
 * holds whitespace, quotes, `$`, a backslash or a control character, which unit files would split,
 * unquote or expand.
 */
function unitWord(what: string, s: string): string {
  // eslint-disable-next-line no-control-regex
  if (!s || /[\s"'`$\\\u0000-\u001f\u007f;]/.test(s))
    throw new ServerError(
      ServerErrorCode.BadOption,
      `${what} "${s}" holds a space, quote, $, ; or backslash, which a systemd unit cannot carry as is`,
      { hint: 'move it to a path of letters, digits, / - _ . only' },
    );
  return s.replaceAll('%', '%%');
}

/**
 * The systemd unit that runs `boottorrent start <projectDir>` as a dedicated user, never root: only
 * the capabilities `start` needs are granted (CAP_NET_BIND_SERVICE for ports 67, 69 and other
 * ports below 1024; CAP_NET_RAW for DHCP's SO_BINDTOIFINDEX; CAP_NET_ADMIN is not needed), and the
 * file system is read-only except the project directory (out/, machines.state.json, the token).
 * `systemctl reload` sends SIGHUP, which reloads the project. Pure: the caller writes the file.
 */
export function systemdUnit(o: UnitOptions): string {
  const dir = unitWord('project directory', o.projectDir);
  if (!o.projectDir.startsWith('/'))
    throw new ServerError(ServerErrorCode.BadOption, `project directory "${o.projectDir}" is not absolute`, {
      hint: 'give an absolute path',
    });
  const user = unitWord('user', o.user ?? DEFAULT_SERVICE_USER);
  const caps = ['CAP_NET_BIND_SERVICE', ...(o.dhcp ? ['CAP_NET_RAW'] : [])].join(' ');
  return [
    '# Written by `boottorrent service install`; `boottorrent service remove` deletes it.',
    '[Unit]',
    `Description=BootTorrent boot server for ${dir}`,
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    'Type=exec',
    `User=${user}`,
    `Group=${user}`,
    `ExecStart=${unitWord('node', o.node)} ${unitWord('CLI', o.cli)} start ${dir}`,
    'ExecReload=/bin/kill -HUP $MAINPID',
    'Restart=on-failure',
    'RestartSec=5s',
    'TimeoutStopSec=30s',
    // phase-1's host parts and build cache (the user's home is not a place to write).
    'CacheDirectory=boottorrent',
    'Environment=XDG_CACHE_HOME=/var/cache',
    `AmbientCapabilities=${caps}`,
    `CapabilityBoundingSet=${caps}`,
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
    'ProtectHome=read-only',
    `ReadWritePaths=${dir}`,
    'PrivateTmp=yes',
    'PrivateDevices=yes',
    'ProtectKernelTunables=yes',
    'ProtectKernelModules=yes',
    'ProtectKernelLogs=yes',
    'ProtectControlGroups=yes',
    'ProtectClock=yes',
    'ProtectHostname=yes',
    'RestrictNamespaces=yes',
    'RestrictRealtime=yes',
    'RestrictSUIDSGID=yes',
    'LockPersonality=yes',
    // AF_NETLINK: Node lists the interfaces through it. No MemoryDenyWriteExecute: V8 compiles code.
    'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK',
    'SystemCallArchitectures=native',
    'UMask=0027',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/** The sysusers.d line that creates the service's system user and group (systemd-sysusers(8)). */
export function sysusersConfig(user = DEFAULT_SERVICE_USER): string {
  const u = unitWord('user', user);
  return `# Written by \`boottorrent service install\`.\nu ${u} - "BootTorrent boot server" /var/lib/${u}\n`;
}
