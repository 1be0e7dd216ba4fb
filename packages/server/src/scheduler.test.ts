import { describe, expect, it } from 'vitest';
import { ArrivalGate, RuntimeScheduler } from './scheduler.js';

const mac = (i: number) => `02:00:00:00:00:${i.toString(16).padStart(2, '0')}`;

function setup(
  o: {
    serverSlots?: number;
    peerSlots?: number;
    maxWaitMs?: number;
    assignTimeoutMs?: number;
    haveGraceMs?: number;
    suspectMs?: number;
    maxStrikes?: number;
    busyHolderWaitMs?: number;
    holderBusy?: (mac: string) => boolean;
  } = {},
) {
  let t = 1_000;
  const s = new RuntimeScheduler({ ...o, now: () => t });
  return { s, tick: (ms: number) => (t += ms) };
}

/** Serves `m` from the server to the end and makes it a holder at 10.0.0.<i>. */
function fromServer(s: RuntimeScheduler, i: number) {
  expect(s.pick(mac(i)).kind).toBe('server');
  s.serverDone(mac(i));
  return s.have(mac(i), `10.0.0.${i}`, 8370);
}

describe('RuntimeScheduler', () => {
  it('serves the first clients itself up to serverSlots, and makes the rest wait', () => {
    const { s } = setup({ serverSlots: 2 });
    expect(s.pick(mac(1))).toEqual({ kind: 'server' });
    expect(s.pick(mac(2))).toEqual({ kind: 'server' });
    expect(s.pick(mac(3))).toEqual({ kind: 'wait', retryAfterS: 1 });
    expect(s.stats()).toMatchObject({ serverBusy: 2, waiting: 1 });
    s.serverDone(mac(1));
    // Still no holder (1 has not said it holds the file): the freed server slot goes to 3.
    expect(s.pick(mac(3)).kind).toBe('server');
  });

  it('redirects to a holder with a free slot before using the server, least busy then newest', () => {
    const { s, tick } = setup({ serverSlots: 2, peerSlots: 2 });
    fromServer(s, 1);
    tick(10);
    s.have(mac(2), '10.0.0.2', 8370);
    const a = s.pick(mac(3));
    expect(a.kind === 'peer' && a.holder.mac).toBe(mac(2));
    const b = s.pick(mac(4));
    expect(b.kind === 'peer' && b.holder.mac).toBe(mac(1));
    const c = s.pick(mac(5));
    expect(c.kind === 'peer' && c.holder.ip).toBe('10.0.0.2');
    expect(s.have(mac(3), '10.0.0.3', 8370)).toBe(mac(2));
    expect(s.sourceOf(mac(3))).toBe(mac(2));
    expect(s.stats()).toMatchObject({ holders: 3, fromServer: 2, fromPeers: 1, redirects: 3 });
    // 3 just became a holder: it is idle and the newest, so the next client goes to it.
    tick(10);
    const d = s.pick(mac(6));
    expect(d.kind === 'peer' && d.holder.mac).toBe(mac(3));
  });

  it('keeps the server out while holders exist, until a client has waited maxWaitMs', () => {
    const { s, tick } = setup({ serverSlots: 2, peerSlots: 1, maxWaitMs: 30_000 });
    fromServer(s, 1);
    expect(s.pick(mac(2)).kind).toBe('peer');
    expect(s.pick(mac(3)).kind).toBe('wait');
    tick(29_999);
    expect(s.pick(mac(3)).kind).toBe('wait');
    tick(1);
    expect(s.pick(mac(3)).kind).toBe('server');
  });

  it('passes over a holder a client left for a stall, sends the client elsewhere, keeps the holder', () => {
    const { s, tick } = setup({ peerSlots: 1, suspectMs: 5_000 });
    fromServer(s, 1);
    s.have(mac(2), '10.0.0.2', 8370);
    const first = s.pick(mac(3));
    expect(first.kind === 'peer' && first.holder.mac).toBe(mac(2));
    const again = s.pick(mac(3), 'stall');
    expect(again.kind === 'peer' && again.holder.mac).toBe(mac(1));
    expect(s.holders().map((h) => h.mac)).toEqual([mac(1), mac(2)]);
    expect(s.stats()).toMatchObject({ suspected: 1, failures: { stall: 1 }, dropped: { stall: 0 } });
    // 2 is free but suspect: 4 waits rather than go to it (1 is busy with 3) ...
    expect(s.pick(mac(4)).kind).toBe('wait');
    tick(4_999);
    expect(s.pick(mac(4)).kind).toBe('wait');
    // ... until suspectMs has passed.
    tick(1);
    const later = s.pick(mac(4));
    expect(later.kind === 'peer' && later.holder.mac).toBe(mac(2));
  });

  it('does not send a server copy when the only holder stalled once: the client waits for it', () => {
    const { s, tick } = setup({ serverSlots: 1, peerSlots: 1, suspectMs: 5_000, maxWaitMs: 30_000 });
    fromServer(s, 1);
    expect(s.pick(mac(2)).kind).toBe('peer');
    expect(s.pick(mac(2), 'stall')).toEqual({ kind: 'wait', retryAfterS: 1 });
    tick(5_000);
    const p = s.pick(mac(2));
    expect(p.kind === 'peer' && p.holder.mac).toBe(mac(1));
    expect(s.have(mac(2), '10.0.0.2', 8370)).toBe(mac(1));
    expect(s.stats()).toMatchObject({ fromServer: 1, fromPeers: 1, holders: 2 });
  });

  it('counts maxWaitMs from the last failure, not from the first ask: downloading is not waiting', () => {
    const { s, tick } = setup({ serverSlots: 1, peerSlots: 1, suspectMs: 5_000, maxWaitMs: 30_000 });
    fromServer(s, 1);
    expect(s.pick(mac(2)).kind).toBe('peer');
    tick(40_000); // a slow download from 1, then 1 goes quiet
    expect(s.pick(mac(2), 'stall').kind).toBe('wait');
    tick(4_000);
    expect(s.pick(mac(2)).kind).toBe('wait');
  });

  it('drops a holder after maxStrikes stalls or failed fetches in a row; a finished serve resets them', () => {
    const { s, tick } = setup({ serverSlots: 1, peerSlots: 1, suspectMs: 1_000, maxStrikes: 3 });
    fromServer(s, 1);
    // Two failures, then a client finishes a download from 1: the count starts over.
    for (const why of ['stall', 'error'] as const) {
      expect(s.pick(mac(2)).kind).toBe('peer');
      expect(s.pick(mac(2), why).kind).toBe('wait');
      tick(1_000);
    }
    expect(s.pick(mac(2)).kind).toBe('peer');
    s.have(mac(2), '10.0.0.2', 8370);
    s.forget(mac(2));
    for (let i = 0; i < 2; i++) {
      expect(s.pick(mac(3)).kind).toBe('peer');
      expect(s.pick(mac(3), 'error').kind).toBe('wait');
      tick(1_000);
    }
    expect(s.holders().map((h) => h.mac)).toEqual([mac(1)]);
    expect(s.pick(mac(3)).kind).toBe('peer');
    // The third in a row: 1 is gone, no holder is left, the server sends a copy.
    expect(s.pick(mac(3), 'stall').kind).toBe('server');
    expect(s.holders()).toEqual([]);
    expect(s.stats()).toMatchObject({ suspected: 4, dropped: { stall: 1, error: 0 } });
  });

  it('bans a holder that served bad bytes: it never becomes a holder again', () => {
    const { s } = setup();
    fromServer(s, 1);
    expect(s.pick(mac(2)).kind).toBe('peer');
    expect(s.pick(mac(2), 'hash').kind).toBe('server');
    s.have(mac(1), '10.0.0.1', 8370);
    expect(s.holders()).toEqual([]);
    expect(s.stats().dropped.hash).toBe(1);
  });

  it('forgets a holder that left for its OS, and frees the slot of a client that vanished', () => {
    const { s, tick } = setup({ peerSlots: 1, assignTimeoutMs: 120_000 });
    fromServer(s, 1);
    s.have(mac(2), '10.0.0.2', 8370);
    expect(s.pick(mac(3)).kind).toBe('peer'); // to 2 (the newest), then 3 disappears
    s.forget(mac(1));
    expect(s.stats()).toMatchObject({ holders: 1, dropped: { left: 1 } });
    expect(s.pick(mac(4)).kind).toBe('wait');
    tick(120_000);
    const p = s.pick(mac(4));
    expect(p.kind === 'peer' && p.holder.mac).toBe(mac(2));
  });

  it('starts a client over when it boots again: its holder slot is freed and its wait restarts', () => {
    const { s, tick } = setup({ serverSlots: 1, peerSlots: 1, maxWaitMs: 60_000, assignTimeoutMs: 120_000 });
    fromServer(s, 1);
    expect(s.pick(mac(2)).kind).toBe('peer'); // 2 downloads from 1, then reboots
    s.forget(mac(2));
    expect(s.stats()).toMatchObject({ holders: 1, peerBusy: 0, dropped: { left: 0 } });
    const three = s.pick(mac(3)); // 1's slot is free at once, not after assignTimeoutMs
    expect(three.kind === 'peer' && three.holder.mac).toBe(mac(1));
    // 4 waits; 5 asks later and waits too; 4 dies and boots again, and asks after 5.
    expect(s.pick(mac(4)).kind).toBe('wait');
    tick(1_000);
    expect(s.pick(mac(5)).kind).toBe('wait');
    s.forget(mac(4));
    tick(1_000);
    expect(s.pick(mac(4)).kind).toBe('wait');
    expect(s.stats().waiting).toBe(2);
    // A holder frees up: it goes to 5, which has waited longest, though 4 first asked before it.
    s.have(mac(6), '10.0.0.6', 8370); // (1 still serves 3)
    tick(100);
    expect(s.pick(mac(4)).kind).toBe('wait');
    const five = s.pick(mac(5));
    expect(five.kind === 'peer' && five.holder.mac).toBe(mac(6));
    // 4's wait counts from its new boot: 59.9 s after that it still waits (counted from its first
    // ask it would have waited 61.9 s, past maxWaitMs, and got a server copy).
    tick(59_800);
    expect(s.pick(mac(4)).kind).toBe('wait');
    tick(100);
    expect(s.pick(mac(4)).kind).toBe('server');
  });

  it('frees the server slot when its response closes, even if the client never reports', () => {
    const { s } = setup({ serverSlots: 1 });
    expect(s.pick(mac(1)).kind).toBe('server');
    expect(s.pick(mac(2)).kind).toBe('wait');
    s.serverDone(mac(1));
    expect(s.pick(mac(2)).kind).toBe('server');
    expect(s.stats().serverBusy).toBe(1);
  });

  it('waits for the client that got the whole server copy to hold it, instead of sending a second', () => {
    const { s, tick } = setup({ serverSlots: 1, haveGraceMs: 10_000 });
    expect(s.pick(mac(1)).kind).toBe('server');
    s.serverDone(mac(1), true); // every byte sent; 1 is checking the hash
    tick(2_000);
    expect(s.pick(mac(2))).toEqual({ kind: 'wait', retryAfterS: 1 });
    expect(s.stats().serverBusy).toBe(0);
    s.have(mac(1), '10.0.0.1', 8370);
    const p = s.pick(mac(2));
    expect(p.kind === 'peer' && p.holder.mac).toBe(mac(1));
    expect(s.stats()).toMatchObject({ fromServer: 1, redirects: 1 });
  });

  it('sends another copy when the client that got one has not said it holds it within haveGraceMs', () => {
    const { s, tick } = setup({ serverSlots: 1, haveGraceMs: 10_000 });
    expect(s.pick(mac(1)).kind).toBe('server');
    s.serverDone(mac(1), true);
    tick(9_999);
    expect(s.pick(mac(2)).kind).toBe('wait');
    tick(1);
    expect(s.pick(mac(2)).kind).toBe('server');
  });

  it('makes no one wait on a copy that did not reach its end (the client went away)', () => {
    const { s } = setup({ serverSlots: 1 });
    expect(s.pick(mac(1)).kind).toBe('server');
    s.serverDone(mac(1), false);
    expect(s.pick(mac(2)).kind).toBe('server');
  });

  it('serves a client that waited maxWaitMs even while a holder is coming', () => {
    const { s, tick } = setup({ serverSlots: 1, maxWaitMs: 5_000, haveGraceMs: 60_000 });
    expect(s.pick(mac(1)).kind).toBe('server');
    s.serverDone(mac(1), true);
    expect(s.pick(mac(2)).kind).toBe('wait');
    tick(4_999);
    expect(s.pick(mac(2)).kind).toBe('wait');
    tick(1);
    expect(s.pick(mac(2)).kind).toBe('server');
  });

  it('does not wait on its own earlier copy (a client asking again after a bad hash)', () => {
    const { s } = setup({ serverSlots: 1 });
    expect(s.pick(mac(1)).kind).toBe('server');
    s.serverDone(mac(1), true);
    expect(s.pick(mac(1), 'hash').kind).toBe('server');
  });

  it('prefers a holder whose machine is not busy with its OS over a newer one that is', () => {
    const busy = new Set<string>();
    const { s, tick } = setup({ peerSlots: 1, holderBusy: (m) => busy.has(m) });
    fromServer(s, 1);
    tick(10);
    s.have(mac(2), '10.0.0.2', 8370);
    busy.add(mac(2)); // 2's agent downloads the OS: its uplink carries BitTorrent
    const p = s.pick(mac(3));
    expect(p.kind === 'peer' && p.holder.mac).toBe(mac(1));
  });

  it('waits busyHolderWaitMs for an idle holder while a copy is under way, then takes a busy one', () => {
    const busy = new Set<string>();
    const { s, tick } = setup({
      peerSlots: 1,
      busyHolderWaitMs: 5_000,
      maxWaitMs: 60_000,
      holderBusy: (m) => busy.has(m),
    });
    fromServer(s, 1);
    s.have(mac(2), '10.0.0.2', 8370);
    busy.add(mac(1));
    busy.add(mac(2));
    // Nothing under way: the busy holders serve at once (nothing better is coming).
    const a = s.pick(mac(3));
    expect(a.kind === 'peer' && a.holder.mac).toBe(mac(2));
    // 3's copy is under way: 4 waits for 3 rather than go to 1 ...
    expect(s.pick(mac(4)).kind).toBe('wait');
    tick(4_999);
    expect(s.pick(mac(4)).kind).toBe('wait');
    // ... and gets 3 once it holds the runtime (unpacking, its uplink idle).
    s.have(mac(3), '10.0.0.3', 8370);
    const b = s.pick(mac(4));
    expect(b.kind === 'peer' && b.holder.mac).toBe(mac(3));
    // 5: 4's copy is under way; after busyHolderWaitMs it takes a busy holder (2, free again, newest).
    expect(s.pick(mac(5)).kind).toBe('wait');
    tick(5_000);
    const c = s.pick(mac(5));
    expect(c.kind === 'peer' && c.holder.mac).toBe(mac(2));
    expect(s.stats()).toMatchObject({ fromServer: 2, redirects: 3 });
  });

  it('gives a freed holder to the client that has waited longest, while it still asks', () => {
    const { s, tick } = setup({ peerSlots: 1, maxWaitMs: 60_000 });
    fromServer(s, 1);
    expect(s.pick(mac(2)).kind).toBe('peer'); // 2 downloads from 1
    expect(s.pick(mac(3)).kind).toBe('wait');
    tick(500);
    expect(s.pick(mac(4)).kind).toBe('wait');
    tick(500);
    s.have(mac(2), '10.0.0.2', 8370); // 1 and 2 are free
    // 4 asks first, but 3 has waited longer: 4 gets the source 3 leaves (the older holder, 1).
    const four = s.pick(mac(4));
    expect(four.kind === 'peer' && four.holder.mac).toBe(mac(1));
    const three = s.pick(mac(3));
    expect(three.kind === 'peer' && three.holder.mac).toBe(mac(2));
    // 5 waits behind 6, which asked earlier but then stopped asking (it went away): 5 is not held up.
    expect(s.pick(mac(6)).kind).toBe('wait');
    tick(10);
    expect(s.pick(mac(5)).kind).toBe('wait');
    s.have(mac(7), '10.0.0.7', 8370); // one free holder (1 and 2 still serve 4 and 3)
    expect(s.pick(mac(5)).kind).toBe('wait'); // 6 asked 10 ms ago: the free holder is its
    tick(3_001);
    expect(s.pick(mac(5)).kind).toBe('peer');
  });

  it('never redirects a client to itself', () => {
    const { s } = setup({ serverSlots: 1 });
    fromServer(s, 1);
    // 1 asks again (it rebooted without the server noticing): not to itself; the server is free.
    expect(s.pick(mac(1)).kind).toBe('server');
  });
});

describe('ArrivalGate', () => {
  it('gives a freed slot to the machine that asked first, not the latest request', async () => {
    const g = new ArrivalGate(1);
    const order: string[] = [];
    const a = await g.acquire('10.0.0.1'); // a's kernel
    const waits = ['10.0.0.2', '10.0.0.3'].map((who) =>
      g.acquire(who).then((release) => {
        order.push(who);
        return release;
      }),
    );
    a();
    const b = await waits[0]!;
    // a comes back for its next file: it ranks before c, which asked later than a's first request.
    const aAgain = g.acquire('10.0.0.1').then((release) => {
      order.push('10.0.0.1');
      return release;
    });
    b();
    (await aAgain)();
    (await waits[1]!)();
    expect(order).toEqual(['10.0.0.2', '10.0.0.1', '10.0.0.3']);
  });

  it('drops a waiting request that went away, and lets everything through with 0 slots', async () => {
    const g = new ArrivalGate(1);
    const hold = await g.acquire('a');
    const gone = new AbortController();
    const dropped = g.acquire('b', gone.signal);
    gone.abort();
    await expect(dropped).rejects.toThrow();
    expect(g.waiting()).toBe(0);
    hold();
    const open = new ArrivalGate(0);
    await Promise.all([open.acquire('a'), open.acquire('b'), open.acquire('c')]);
  });
});
