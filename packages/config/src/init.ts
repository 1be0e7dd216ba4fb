import { chmod, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { isIpv4 } from './ipv4.js';
import { configJsonSchema, osJsonSchema } from './json-schema.js';
import { ConfigError, ConfigErrorCode } from './problem.js';
import { API_TOKEN_FILE, ensureApiToken } from './token.js';
import { OSS_README } from './_oss-readme.js';

export interface InitOptions {
  /** IPv4 of the server on the boot network. @default '192.168.50.1' */
  hostIp?: string;
  /** Interface of the boot network. @default 'eth0' */
  interface?: string;
}

/** Default server address written by `init` when none is given. */
export const DEFAULT_INIT_HOST_IP = '192.168.50.1';

interface JsonNode {
  type?: string;
  description?: string;
  default?: unknown;
  properties?: Record<string, JsonNode>;
}

/**
 * Creates a project skeleton: a commented config.yaml (comments come from the schema), oss/README.md
 * explaining the OS folder format, an example `bin` OS that boots as it is, and the JSON Schemas under
 * .schema/ so editors complete both kinds of config.yaml. Refuses a non-empty directory and then writes
 * nothing.
 */
export async function initProject(
  dirArg: string,
  opts: InitOptions = {},
): Promise<{ dir: string; files: string[] }> {
  const dir = resolve(dirArg);
  const hostIp = opts.hostIp ?? DEFAULT_INIT_HOST_IP;
  if (!isIpv4(hostIp)) {
    throw new ConfigError(ConfigErrorCode.BadOption, `host IP "${hostIp}" is not an IPv4 address`, {
      hint: 'pass e.g. --host-ip 10.0.0.1',
    });
  }
  const existing = await readdir(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return [];
    throw new ConfigError(ConfigErrorCode.Io, `cannot read ${dir}: ${e.code}`, {
      cause: e,
      hint: 'check the path and permissions',
    });
  });
  if (existing.length > 0) {
    throw new ConfigError(
      ConfigErrorCode.NotEmpty,
      `${dirArg} is not empty (${existing.length} entries); nothing was written`,
      { hint: 'pick a new or empty directory' },
    );
  }
  const base = hostIp.split('.').slice(0, 3).join('.');
  const files: Record<string, string> = {
    'config.yaml': renderConfig({
      hostIp,
      iface: opts.interface ?? 'eth0',
      range: { start: `${base}.100`, end: `${base}.199` },
    }),
    '.schema/config.schema.json': JSON.stringify(configJsonSchema(), null, 2) + '\n',
    '.schema/os.schema.json': JSON.stringify(osJsonSchema(), null, 2) + '\n',
    'oss/README.md': OSS_README,
    'oss/hello/config.yaml':
      '# yaml-language-server: $schema=../../.schema/os.schema.json\n' +
      'dispname: Hello (example, method bin)\nmethod: bin\nbin: hello.sh\nbinargs: "from BootTorrent"\n',
    'oss/hello/hello.sh': '#!/bin/sh\necho "Hello $*: this machine booted over BitTorrent."\nexec /bin/sh\n',
  };
  try {
    for (const [rel, text] of Object.entries(files)) {
      const path = join(dir, rel);
      await mkdir(join(path, '..'), { recursive: true });
      await writeFile(path, text, { flag: 'wx' });
    }
    await chmod(join(dir, 'oss/hello/hello.sh'), 0o755);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    const err = e as NodeJS.ErrnoException;
    throw new ConfigError(ConfigErrorCode.Io, `cannot write in ${dir}: ${err.code ?? err.message}`, {
      cause: e,
      hint: 'check the permissions',
    });
  }
  // The API token (mode 0600): the machine-control endpoints of the running server require it.
  await ensureApiToken(dir);
  return { dir, files: [...Object.keys(files), API_TOKEN_FILE] };
}

function renderConfig(v: { hostIp: string; iface: string; range: { start: string; end: string } }): string {
  const schema = configJsonSchema() as JsonNode;
  const values: Record<string, Record<string, unknown>> = {
    general: { host_ip: v.hostIp, default_os: 'hello' },
    dhcp: { interface: v.iface, range: v.range },
  };
  const out: string[] = [
    '# yaml-language-server: $schema=.schema/config.schema.json',
    '# BootTorrent project configuration. Every key is explained here and in docs/config-reference.md.',
    '# `boottorrent check` validates this file and the OS folders under oss/.',
    '',
  ];
  for (const [section, node] of Object.entries(schema.properties ?? {})) {
    if (node.type === 'array') {
      // A list (machines:) has no default entries: show one, commented out.
      out.push(...comment(node.description, ''), `# ${section}:`, ...(EXAMPLES[section] ?? []), '');
      continue;
    }
    out.push(...comment(node.description, ''), `${section}:`);
    for (const [key, prop] of Object.entries(node.properties ?? {})) {
      const value = values[section]?.[key] ?? prop.default;
      out.push(...comment(prop.description, '  '));
      if (value === undefined) out.push(`  # ${key}:`);
      else out.push(`  ${key}: ${stringify(value, { flow: true }).trim()}`);
    }
    out.push('');
  }
  return out.join('\n');
}

/** Commented examples for list sections, which `init` cannot fill from defaults. */
const EXAMPLES: Record<string, string[]> = {
  machines: [
    '#   - mac: 52:54:00:12:34:56     # one machine: boots hello at once',
    '#     os: hello',
    '#     menu: false',
    '#   - mac: [52:54:00:00:00:01, 52:54:00:00:00:02]',
    '#     cmdline: nomodeset',
    '#   - mac: 52:54:00:*             # a prefix: every machine of this vendor',
    '#     name: room A',
    '#     os: hello',
  ],
};

function comment(text: string | undefined, indent: string): string[] {
  if (!text) return [];
  const lines: string[] = [];
  let cur = '';
  for (const word of text.split(' ')) {
    if (cur && cur.length + word.length > 96) {
      lines.push(`${indent}# ${cur}`);
      cur = word;
    } else cur = cur ? `${cur} ${word}` : word;
  }
  if (cur) lines.push(`${indent}# ${cur}`);
  return lines;
}
