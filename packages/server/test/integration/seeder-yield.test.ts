import { request, type ClientRequest } from 'node:http';
import { basename } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerEvent } from '../../src/index.js';
import { startRoom } from './_room.js';

/**
 * phase1.seeder_share wired in the real boot server on loopback: while a boot loader file is being
 * sent through the loader gate, the seeder is capped (an event says at what); once phase-1 is idle
 * it gets its link back.
 */
let room: Awaited<ReturnType<typeof startRoom>>;

beforeAll(async () => {
  room = await startRoom('seeder-yield');
}, 600_000);

afterAll(async () => {
  await room?.close();
});

function next(pred: (e: ServerEvent) => boolean, after: number): Promise<ServerEvent> {
  return new Promise((resolve) => {
    const poll = setInterval(() => {
      const e = room.events.slice(after).find(pred);
      if (e) {
        clearInterval(poll);
        resolve(e);
      }
    }, 50);
  });
}

describe('the seeder gives way to phase-1', () => {
  it('is capped while a kernel download is in flight and lifted once it ends', async () => {
    const kernel = basename(room.server.out.phase1.kernel);
    const start = room.events.length;
    // A machine that reads its kernel slowly: the response stays in flight until the test ends it.
    const u = new URL(room.base);
    let req!: ClientRequest;
    const gotHeaders = new Promise<void>((resolve, reject) => {
      req = request({ host: u.hostname, port: u.port, path: `/phase1/${kernel}`, agent: false }, (res) => {
        expect(res.statusCode).toBe(200);
        res.pause();
        resolve();
      });
      req.on('error', reject);
      req.end();
    });
    await gotHeaders;
    const capped = await next((e) => e.type === 'seeder-yield' && e.action === 'capped', start);
    expect(capped).toMatchObject({ type: 'seeder-yield', action: 'capped' });
    expect((capped as { bytesPerSecond: number }).bytesPerSecond).toBeGreaterThanOrEqual(256 * 1024);
    // Still in flight: no lift yet.
    expect(room.events.slice(start).some((e) => e.type === 'seeder-yield' && e.action === 'lifted')).toBe(
      false,
    );
    const at = room.events.length;
    req.destroy();
    await next((e) => e.type === 'seeder-yield' && e.action === 'lifted', at);
  }, 60_000);
});
