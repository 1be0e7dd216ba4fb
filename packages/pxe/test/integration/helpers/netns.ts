// The suite's room, built on @boottorrent/lab: every DHCP packet of this suite lives in namespaces
// created here (prefix btpxe-), never in the root namespace.
import { createNetns, randomMac, type Netns, type NetnsHost } from '@boottorrent/testing/lab';

export { findTool as requireTool, randomMac, type Netns } from '@boottorrent/testing/lab';

/** One client: its own namespace with `cli0` (no address) plugged into the server's bridge. */
export interface LabClient {
  ns: NetnsHost;
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

export async function createLab(opts: { cidr?: string; clients?: number } = {}): Promise<Lab> {
  const server = await createNetns({ prefix: 'btpxe', bridge: { addresses: [opts.cidr ?? '10.77.0.1/24'] } });
  const lab: Lab = { server, bridge: server.bridge!, clients: [], dispose: () => server.close() };
  try {
    for (let i = 0; i < (opts.clients ?? 1); i++) await addClient(lab);
  } catch (e) {
    await lab.dispose();
    throw e;
  }
  return lab;
}

/** Adds a client namespace whose `cli0` is plugged into the server bridge (port `port<n>`). */
export async function addClient(lab: Lab, mac = randomMac()): Promise<LabClient> {
  const n = lab.clients.length;
  const ns = await lab.server.addHost({ suffix: `c${n}`, iface: 'cli0', port: `port${n}`, mac });
  const c: LabClient = { ns, iface: ns.iface, mac };
  lab.clients.push(c);
  return c;
}
