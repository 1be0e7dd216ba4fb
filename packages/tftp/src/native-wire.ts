/**
 * Loads the optional native datagram wire (native/wire.c, built by node-gyp into
 * build/Release/tftp_wire.node when the package is installed or built). Optional like `ws`'s
 * `bufferutil`: when it cannot be built or loaded, transfers use node:dgram.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** A transfer socket of the addon: bound, connected, polled on Node's own loop. */
export interface NativeHandle {
  /** Receive buffer, reused for every datagram (only `length` bytes of it are the datagram). */
  readonly rx: Buffer;
  /** Local address and port after connect (the source address the kernel picked). */
  readonly address: string;
  readonly port: number;
}

export interface NativeWireAddon {
  /** Throws an Error with `code` (EADDRNOTAVAIL, EMFILE, ...) when the socket cannot be set up. */
  open(
    local: string,
    remote: string,
    remotePort: number,
    rxBytes: number,
    onMessage: (length: number) => void,
    onError: (code: string) => void,
  ): NativeHandle;
  /** Sends one datagram now (queued in order if the socket buffer is full); returns an error code or undefined. */
  send(handle: NativeHandle, packet: Buffer): string | undefined;
  /** Idempotent; no callback runs after it. */
  close(handle: NativeHandle): void;
}

/** Where the addon is built, relative to this module (src/ in tests, dist/ when published). */
const ADDON_URL = new URL('../build/Release/tftp_wire.node', import.meta.url);

/** How to get the addon when it is not there. */
export const NATIVE_WIRE_HINT = `build it with "npm rebuild @boottorrent/tftp" (needs python3, make and a C compiler) or set wire: 'dgram'`;

let loaded: { addon: NativeWireAddon } | { error: string } | undefined;

/** The addon, or why it is not there (one line; {@link NATIVE_WIRE_HINT} says how to build it). Loaded once. */
export function loadNativeWire(): { addon: NativeWireAddon } | { error: string } {
  if (loaded) return loaded;
  const path = fileURLToPath(ADDON_URL);
  try {
    const addon = createRequire(import.meta.url)(path) as NativeWireAddon;
    if (typeof addon.open !== 'function') throw new Error('not the tftp wire addon');
    loaded = { addon };
  } catch (err) {
    const why = (
      (err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND'
        ? 'not built'
        : String((err as Error).message).split('\n')[0]
    ) as string;
    loaded = {
      error: `the native wire ${path} cannot be loaded (${why})`,
    };
  }
  return loaded;
}
