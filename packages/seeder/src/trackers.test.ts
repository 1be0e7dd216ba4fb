import { describe, expect, it } from 'vitest';
import { chooseTrackers } from './trackers.js';

describe('chooseTrackers', () => {
  it("holds back a host's HTTP URLs when it has a UDP one, keeping the order of the rest", () => {
    expect(
      chooseTrackers([
        'udp://10.0.0.1:8000',
        'http://10.0.0.1:8000/announce',
        'https://10.0.0.1/announce',
        'http://tracker.example:6969/announce',
      ]),
    ).toEqual({
      primary: ['udp://10.0.0.1:8000', 'http://tracker.example:6969/announce'],
      fallback: ['http://10.0.0.1:8000/announce', 'https://10.0.0.1/announce'],
    });
  });

  it('matches hosts case-insensitively and IPv6 literals as written', () => {
    expect(
      chooseTrackers(['http://[::1]:8000/announce', 'udp://[::1]:8000', 'http://HOST/a', 'udp://host:1']),
    ).toEqual({
      primary: ['udp://[::1]:8000', 'udp://host:1'],
      fallback: ['http://[::1]:8000/announce', 'http://HOST/a'],
    });
  });

  it('uses everything at once when no host has a UDP URL; drops duplicates; keeps unparsable URLs', () => {
    expect(chooseTrackers(['http://a/announce', 'http://a/announce', 'ws://b', 'not a url'])).toEqual({
      primary: ['http://a/announce', 'ws://b', 'not a url'],
      fallback: [],
    });
    expect(chooseTrackers([])).toEqual({ primary: [], fallback: [] });
  });
});
