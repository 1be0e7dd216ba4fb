import { randomBytes } from 'node:crypto';
import WebTorrent from 'webtorrent';
import { SeederError, SeederErrorCode, type Logger } from './errors.js';
import { enableFastWire } from './fast-wire.js';
import { PEER_ID_PREFIX } from './peer-id.js';

export { isServerPeerId, PEER_ID_PREFIX } from './peer-id.js';

export interface ClientOptions {
  role: keyof typeof PEER_ID_PREFIX;
  port: number;
  host?: string | undefined;
  lsd: boolean;
  pex: boolean;
  maxConns: number;
  uploadLimit?: number | undefined;
  /** Connect TCP sockets and wires directly (fast-wire.ts) instead of through webtorrent's stream pipeline. @default true */
  fastWire?: boolean | undefined;
  logger?: Logger | undefined;
}

function peerId(role: keyof typeof PEER_ID_PREFIX): string {
  return Buffer.concat([Buffer.from(PEER_ID_PREFIX[role], 'latin1'), randomBytes(12)]).toString('hex');
}

/**
 * A listening webtorrent client for a LAN: no DHT (a room has a tracker), no uTP (TCP is all a LAN
 * needs and uTP's native module cannot be bundled), no UPnP/NAT-PMP, no WebRTC, no MSE encryption. webtorrent binds the
 * peer port on every address; with `host` we rebind the same server on that address only.
 */
export async function startClient(opts: ClientOptions): Promise<WebTorrent> {
  const client = new WebTorrent({
    peerId: peerId(opts.role),
    torrentPort: opts.port,
    dht: false,
    utp: false,
    natUpnp: false,
    natPmp: false,
    lsd: opts.lsd,
    utPex: opts.pex,
    maxConns: opts.maxConns,
    webSeeds: true,
    uploadLimit: opts.uploadLimit ?? -1,
    // Plain BitTorrent handshakes: MSE/PE (RC4) hides nothing on a boot LAN, costs CPU, and webtorrent
    // starts it first on every outgoing connection, falling back to plain only after a failure.
    secure: 0,
  });
  client.on('error', (err: unknown) => opts.logger?.error?.('swarm client error', { err: String(err) }));
  if (opts.fastWire ?? true) enableFastWire(client as unknown as { throttleGroups: object });
  try {
    await new Promise<void>((resolve, reject) => {
      if (client.listening) return resolve();
      client.once('listening', () => resolve());
      client.once('error', (err: unknown) => reject(err));
    });
    const server = client._connPool?.tcpServer;
    if (opts.host && server) {
      const port = client.torrentPort;
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port === opts.port ? port : opts.port, opts.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const addr = server.address();
      if (addr && typeof addr === 'object') client.torrentPort = addr.port;
    }
  } catch (cause) {
    await destroyClient(client);
    throw new SeederError(
      SeederErrorCode.Bind,
      `cannot listen for peers on ${opts.host ?? '*'}:${opts.port}: ${String(cause)}`,
      { cause, hint: 'pick another port (0 = any)' },
    );
  }
  return client;
}

export function destroyClient(client: WebTorrent): Promise<void> {
  if (client.destroyed) return Promise.resolve();
  return new Promise((resolve) => client.destroy(() => resolve()));
}
