// Network namespaces for tests: every DHCP packet of this suite lives in namespaces created here
// (prefix btpxe-), never in the root namespace.
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Runs a command and returns stdout; throws with stderr on failure. */
export async function sh(cmd: string, args: string[]): Promise<string> {
  try {
    return (await run(cmd, args, { maxBuffer: 16 << 20 })).stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${err.stderr ?? err.message}`);
  }
}

/** Absolute path of a tool, or a failing test (CI must have it; tools/setup.sh installs it). */
export function requireTool(name: string, paths: string[] = []): string {
  for (const p of paths) if (spawnSync('test', ['-x', p]).status === 0) return p;
  const r = spawnSync('sh', ['-c', `command -v ${name}`], {
    encoding: 'utf8',
    env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` },
  });
  const found = r.stdout.trim();
  if (r.status !== 0 || found === '')
    throw new Error(`${name} not found: run tools/setup.sh (Debian packages)`);
  return found;
}

export function randomId(): string {
  return randomBytes(3).toString('hex');
}

/** A namespace that is deleted by `dispose()`. */
export class Netns {
  constructor(readonly name: string) {}

  static async create(tag: string): Promise<Netns> {
    const ns = new Netns(`btpxe-${randomId()}-${tag}`);
    await sh('ip', ['netns', 'add', ns.name]);
    await sh('ip', ['-n', ns.name, 'link', 'set', 'lo', 'up']);
    return ns;
  }

  ip(...args: string[]): Promise<string> {
    return sh('ip', ['-n', this.name, ...args]);
  }

  /** argv prefix that runs a command inside this namespace. */
  exec(cmd: string, ...args: string[]): string[] {
    return ['ip', 'netns', 'exec', this.name, cmd, ...args];
  }

  async dispose(): Promise<void> {
    await sh('ip', ['netns', 'del', this.name]).catch(() => undefined);
  }
}

/** Links `a`:`aIf` and `b`:`bIf` with a veth pair created directly inside the namespaces. */
export async function vethPair(a: Netns, aIf: string, b: Netns, bIf: string, mac?: string): Promise<void> {
  await a.ip('link', 'add', aIf, 'type', 'veth', 'peer', 'name', bIf, 'netns', b.name);
  if (mac) await b.ip('link', 'set', bIf, 'address', mac);
  await a.ip('link', 'set', aIf, 'up');
  await b.ip('link', 'set', bIf, 'up');
}

/** One client: its own namespace with `cli0` (no address) plugged into the server's bridge. */
export interface LabClient {
  ns: Netns;
  iface: string;
  mac: string;
}

/** Server namespace with bridge `br0` (10.77.0.1/24 by default) and client namespaces on it. */
export interface Lab {
  server: Netns;
  bridge: string;
  clients: LabClient[];
  dispose(): Promise<void>;
}

export function randomMac(): string {
  return `52:54:00:${randomBytes(3).toString('hex').match(/../g)!.join(':')}`;
}

export async function createLab(opts: { cidr?: string; clients?: number } = {}): Promise<Lab> {
  const server = await Netns.create('s');
  const lab: Lab = {
    server,
    bridge: 'br0',
    clients: [],
    dispose: async () => {
      await Promise.all([server.dispose(), ...lab.clients.map((c) => c.ns.dispose())]);
    },
  };
  try {
    await server.ip('link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0');
    await server.ip('addr', 'add', opts.cidr ?? '10.77.0.1/24', 'brd', '+', 'dev', 'br0');
    await server.ip('link', 'set', 'br0', 'up');
    for (let i = 0; i < (opts.clients ?? 1); i++) await addClient(lab);
  } catch (e) {
    await lab.dispose();
    throw e;
  }
  return lab;
}

/** Adds a client namespace whose `cli0` is plugged into the server bridge. */
export async function addClient(lab: Lab, mac = randomMac()): Promise<LabClient> {
  const ns = await Netns.create(`c${lab.clients.length}`);
  const c: LabClient = { ns, iface: 'cli0', mac };
  lab.clients.push(c);
  const port = `port${lab.clients.length - 1}`;
  await vethPair(lab.server, port, ns, 'cli0', mac);
  await lab.server.ip('link', 'set', port, 'master', lab.bridge);
  return c;
}

/** Adds a tap device on the server bridge for a QEMU VM. */
export async function addTap(lab: Lab, name: string): Promise<void> {
  await lab.server.ip('tuntap', 'add', 'dev', name, 'mode', 'tap');
  await lab.server.ip('link', 'set', name, 'master', lab.bridge);
  await lab.server.ip('link', 'set', name, 'up');
}
