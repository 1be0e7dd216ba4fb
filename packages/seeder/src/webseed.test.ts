import { EventEmitter } from 'node:events';
import type { Torrent } from 'webtorrent';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WebSeedFallback } from './webseed.js';

// The policy under test is WebSeedFallback; the torrent is a recording stand-in and the clock is fake.
class RecordingTorrent extends EventEmitter {
  destroyed = false;
  done = false;
  added: string[] = [];
  removed: string[] = [];
  addWebSeed(url: string): void {
    this.added.push(url);
  }
  removePeer(id: string): void {
    this.removed.push(id);
  }
}

describe('WebSeedFallback', () => {
  let torrent: RecordingTorrent;
  let verified: number;
  let peerBytes: number;
  let fb: WebSeedFallback | undefined;
  beforeEach(() => {
    vi.useFakeTimers();
    torrent = new RecordingTorrent();
    verified = 0;
    peerBytes = 0;
  });
  afterEach(() => {
    fb?.stop();
    vi.useRealTimers();
  });
  const start = (urls: string[], singleFile?: string): WebSeedFallback =>
    (fb = new WebSeedFallback(torrent as unknown as Torrent, {
      urls,
      afterMs: 5000,
      singleFile,
      progress: () => [verified, peerBytes],
    }));

  it('stays off while pieces keep arriving from peers', () => {
    start(['http://10.0.0.1:8080/webseed/']);
    for (let t = 0; t < 20; t++) {
      verified += 1 << 20;
      peerBytes += 1 << 20;
      vi.advanceTimersByTime(1000);
    }
    expect(torrent.added).toEqual([]);
  });

  it('adds the web seed only after no piece was verified for afterMs', () => {
    start(['http://10.0.0.1:8080/webseed/']);
    vi.advanceTimersByTime(4500);
    expect(torrent.added).toEqual([]);
    vi.advanceTimersByTime(1000);
    expect(torrent.added).toEqual(['http://10.0.0.1:8080/webseed/']);
  });

  it('drops the web seed as soon as BitTorrent peers deliver again, and can come back after a new stall', () => {
    start(['http://10.0.0.1:8080/webseed/']);
    vi.advanceTimersByTime(5500);
    expect(torrent.added.length).toBe(1);
    verified += 1 << 20; // web seed bytes only: it stays
    vi.advanceTimersByTime(1000);
    expect(torrent.removed).toEqual([]);
    peerBytes += 16384;
    vi.advanceTimersByTime(300);
    expect(torrent.removed).toEqual(['http://10.0.0.1:8080/webseed/']);
    vi.advanceTimersByTime(6000);
    expect(torrent.added.length).toBe(2);
  });

  it('puts name/path under the URL for a torrent holding one file (BEP 19 multi-file form)', () => {
    start(['http://h/webseed', 'http://h2/ws/'], 'my os/disk 1.img');
    vi.advanceTimersByTime(5500);
    expect(torrent.added).toEqual([
      'http://h/webseed/my%20os/disk%201.img',
      'http://h2/ws/my%20os/disk%201.img',
    ]);
  });

  it('does nothing without web seeds, and stops once the torrent is done', () => {
    start([]);
    vi.advanceTimersByTime(10_000);
    expect(torrent.added).toEqual([]);
    start(['http://h/']);
    torrent.done = true;
    vi.advanceTimersByTime(10_000);
    expect(torrent.added).toEqual([]);
  });
});
