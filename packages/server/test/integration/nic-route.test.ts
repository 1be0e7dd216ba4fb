// The per-NIC modules route of the whole boot server (phase-1 built from the host's real kernel
// package) over real HTTP on loopback: the boot script names the URL with iPXE's busid setting, and
// the URL as iPXE expands it gets one NIC's modules.
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { readInitrd } from '@boottorrent/initrd-builder';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerEvent } from '../../src/index.js';
import { call, startRoom } from './_room.js';

let room: Awaited<ReturnType<typeof startRoom>>;
let archive: string;
let fullSize: number;

beforeAll(async () => {
  room = await startRoom('nic');
  archive = room.server.out.phase1.loaderInitrds.find((p) => basename(p).startsWith('modules.'))!;
  fullSize = (await readFile(archive)).length;
}, 180_000);
afterAll(() => room?.close());

/** The http events of requests whose path starts with `prefix`. */
const httpEvents = (prefix: string) =>
  room.events.filter(
    (e): e is Extract<ServerEvent, { type: 'http' }> => e.type === 'http' && e.path.startsWith(prefix),
  );

/** GET as bytes. */
async function getBytes(path: string): Promise<{ status: number; body: Buffer; nic: string }> {
  const res = await fetch(`${room.base}${path}`);
  return {
    status: res.status,
    body: Buffer.from(await res.arrayBuffer()),
    nic: res.headers.get('x-boottorrent-nic') ?? '',
  };
}

describe('GET /phase1/nic/<busid>/modules.cpio.<ext>', () => {
  it("is what the boot script names for the modules, with iPXE's busid setting in the path", async () => {
    const script = (await call(room.base, 'GET', '/boot.ipxe?mac=52:54:00:77:01:01')).text;
    const name = basename(archive);
    expect(script).toContain(`\ninitrd ${room.base}/phase1/nic/\${netX/busid:hexraw}/${name}\n`);
    expect(script).toMatch(
      new RegExp(`^kernel \\S+ initrd=base\\.cpio\\.\\w+ initrd=${name.replace(/\./g, '\\.')} `, 'm'),
    );
    expect(script).not.toContain(`/phase1/${name}`);
  });

  it("sends QEMU's e1000 (8086:100e) its driver only, counted as the server's phase-1 bytes", async () => {
    const before = room.server.phase1().phase1Bytes.loader;
    const r = await getBytes(`/phase1/nic/018086100e/${basename(archive)}`);
    expect(r.status).toBe(200);
    expect(r.nic).toBe('e1000');
    const kos = readInitrd(r.body)
      .filter((x) => x.path.endsWith('.ko'))
      .map((x) => basename(x.path));
    expect(kos).toEqual(['e1000.ko']);
    expect(r.body.length).toBeLessThan(fullSize / 10);
    // The server's own account: its request log and its phase-1 counter.
    const ev = httpEvents('/phase1/nic/018086100e/').at(-1)!;
    expect(ev).toMatchObject({ method: 'GET', status: 200, bytes: r.body.length });
    expect(room.server.phase1().phase1Bytes.loader - before).toBe(r.body.length);
    // The same id in iPXE's colon format, and HEAD: the same archive.
    const again = await getBytes(`/phase1/nic/01:80:86:10:0e/${basename(archive)}`);
    expect(again.body.equals(r.body)).toBe(true);
    const head = await call(room.base, 'HEAD', `/phase1/nic/018086100e/${basename(archive)}`);
    expect(head.headers['content-length']).toBe(String(r.body.length));
  });

  it('sends virtio-net the virtio PCI transport and virtio_net', async () => {
    const r = await getBytes(`/phase1/nic/011af41000/${basename(archive)}`);
    expect(r.status).toBe(200);
    const kos = readInitrd(r.body).filter((x) => x.path.endsWith('.ko'));
    expect(kos.map((x) => basename(x.path)).sort()).toEqual(
      [
        'failover.ko',
        'net_failover.ko',
        'virtio.ko',
        'virtio_net.ko',
        'virtio_pci.ko',
        'virtio_pci_legacy_dev.ko',
        'virtio_pci_modern_dev.ko',
        'virtio_ring.ko',
      ].sort(),
    );
  });

  it('sends the full set for no id, a non-PCI bus or a NIC no driver matches', async () => {
    const full = await readFile(archive);
    for (const [id, reason] of [
      ['', 'no-id'],
      ['0700000000', 'not-pci'],
      ['0115b31017', 'no-match'],
    ]) {
      const r = await getBytes(`/phase1/nic/${id}/${basename(archive)}`);
      expect(r.status, id).toBe(200);
      expect(r.nic, id).toBe(`full (${reason})`);
      expect(r.body.equals(full), id).toBe(true);
    }
  });

  it('refuses a bus id iPXE cannot write, another file and path tricks, with one line', async () => {
    const name = basename(archive);
    const cases: [string, number][] = [
      [`/phase1/nic/${'0'.repeat(65)}/${name}`, 400],
      [`/phase1/nic/01%0A8086/${name}`, 400],
      [`/phase1/nic/\${netX/busid:hexraw}/${name}`, 404],
      ['/phase1/nic/018086100e/base.cpio.zst', 404],
      ['/phase1/nic/018086100e/..%2Fvmlinuz', 404],
      [`/phase1/nic/..%2F..%2F..%2Fetc/${name}`, 404],
      ['/phase1/nic/018086100e/%2E%2E%2F%2E%2E%2F%2E%2E%2Fetc%2Fpasswd', 404],
    ];
    for (const [path, status] of cases) {
      const r = await call(room.base, 'GET', path);
      expect(r.status, path).toBe(status);
      expect(r.text.endsWith('\n') && r.text.indexOf('\n') === r.text.length - 1, path).toBe(true);
      expect(r.text, path).not.toMatch(/root:|\x7fELF/);
    }
  });
});
