import { describe, expect, it } from 'vitest';
import { ClientTable, totals } from './clients.js';

const MAC = '52:54:00:77:00:10';

function table() {
  let now = 1000;
  const t = new ClientTable(() => now);
  const why: string[] = [];
  t.on('change', (_c, w) => why.push(w));
  return { t, why, tick: (ms: number) => (now += ms) };
}

describe('ClientTable', () => {
  it('follows a machine through the boot phases and stamps each phase once', () => {
    const { t, why, tick } = table();
    t.observe(MAC, { phase: 'dhcp', ip: '10.77.0.100', firmware: 'bios' }, 'dhcp ack');
    tick(10);
    t.observe(MAC, { phase: 'loader' }, 'boot.ipxe');
    tick(10);
    t.report(MAC, { phase: 'menu' });
    tick(10);
    t.report(MAC, { phase: 'downloading', os: 'debian', progress: 0.5, bytesFromPeers: 7 });
    tick(10);
    t.report(MAC, { phase: 'downloading', progress: 0.9 });
    const c = t.get(MAC)!;
    expect(c).toMatchObject({ phase: 'downloading', ip: '10.77.0.100', firmware: 'bios', os: 'debian' });
    expect(c.progress).toBe(0.9);
    expect(c.bytesFromPeers).toBe(7);
    expect(c.timeline).toEqual({ dhcp: 1000, loader: 1010, menu: 1020, downloading: 1030 });
    expect(why).toEqual(['dhcp ack', 'boot.ipxe', 'status', 'status', 'status']);
    expect(t.macOf('10.77.0.100')).toBe(MAC);
  });

  it('never moves a phase backwards on a late fact', () => {
    const { t } = table();
    t.report(MAC, { phase: 'seeding' });
    t.observe(MAC, { phase: 'loader' }, 'tftp phase1/vmlinuz');
    expect(t.get(MAC)!.phase).toBe('seeding');
  });

  it('enters error from any phase and leaves it when the agent is back at the menu', () => {
    const { t } = table();
    t.report(MAC, { phase: 'downloading' });
    t.report(MAC, { phase: 'error', message: 'no peer has piece 3' });
    expect(t.get(MAC)).toMatchObject({ phase: 'error', message: 'no peer has piece 3' });
    t.report(MAC, { phase: 'menu' });
    expect(t.get(MAC)!.phase).toBe('menu');
  });

  it('starts over when a booted machine asks for DHCP again (a reboot)', () => {
    const { t } = table();
    t.report(MAC, { phase: 'booted' });
    t.observe(MAC, { phase: 'dhcp' }, 'dhcp ack');
    expect(t.get(MAC)!.phase).toBe('dhcp');
  });

  it('lists machines by MAC and sums the swarm split', () => {
    const { t } = table();
    t.report('52:54:00:00:00:02', { phase: 'booted', bytesFromServer: 30, bytesFromPeers: 50 });
    t.report('52:54:00:00:00:01', { phase: 'booted', bytesFromWebSeed: 20 });
    expect(t.list().map((c) => c.mac)).toEqual(['52:54:00:00:00:01', '52:54:00:00:00:02']);
    expect(totals(t.list())).toEqual({ fromServer: 30, fromPeers: 50, fromWebSeed: 20, serverShare: 0.5 });
  });

  it('counts the machines still waiting for an OS: not the asker, not those past it, not the gone', () => {
    const { t, tick } = table();
    const m = (i: number) => `52:54:00:00:01:${String(i).padStart(2, '0')}`;
    t.report(m(1), { phase: 'seeding', os: 'debian' }); // the asker
    t.observe(m(2), { phase: 'loader' }, 'boot.ipxe'); // in phase-1: may still pick debian
    t.report(m(3), { phase: 'downloading', os: 'debian' });
    t.report(m(4), { phase: 'downloading', os: 'alpine' }); // another OS
    t.report(m(5), { phase: 'seeding', os: 'debian' }); // has it
    t.report(m(6), { phase: 'error', os: 'debian' });
    expect(t.waitingFor('debian', m(1))).toBe(2);
    expect(t.waitingFor('alpine', m(1))).toBe(2);
    t.report(m(3), { phase: 'seeding', os: 'debian' });
    expect(t.waitingFor('debian', m(1))).toBe(1);
    // m(2) says nothing for 5 minutes: gone. m(4)'s agent keeps reporting.
    tick(299_999);
    t.report(m(4), { phase: 'downloading', os: 'alpine' });
    expect(t.waitingFor('debian', m(1))).toBe(1);
    tick(1);
    expect(t.waitingFor('debian', m(1))).toBe(0);
    expect(t.waitingFor('alpine', m(1))).toBe(1);
  });

  it('stops counting a downloading machine that stopped reporting (powered off mid-download)', () => {
    const { t, tick } = table();
    const m = (i: number): string => `52:54:00:00:03:0${i}`;
    t.report(m(1), { phase: 'seeding', os: 'debian' });
    t.report(m(2), { phase: 'downloading', os: 'debian' });
    t.report(m(3), { phase: 'menu' });
    tick(29_999);
    expect(t.waitingFor('debian', m(1))).toBe(2);
    tick(1);
    // m(2)'s agent reports every second: 30 s of silence is a machine gone. m(3) at its menu says nothing.
    expect(t.waitingFor('debian', m(1))).toBe(1);
    t.report(m(2), { phase: 'downloading', os: 'debian' });
    expect(t.waitingFor('debian', m(1))).toBe(2);
  });

  it('leaves out a machine whose plan boots another OS without a menu', () => {
    const { t } = table();
    const plans: Record<string, { os: string | null; menu: boolean }> = {
      '52:54:00:00:02:01': { os: 'alpine', menu: false },
      '52:54:00:00:02:02': { os: 'alpine', menu: true },
      '52:54:00:00:02:03': { os: null, menu: false },
    };
    t.usePlans((mac) => (plans[mac] ? { mac, cmdline: '', ...plans[mac] } : null));
    for (const mac of Object.keys(plans)) t.observe(mac, { phase: 'loader' }, 'boot.ipxe');
    // The menu may pick debian; the default OS (null) may be debian; only the first is sure not to.
    expect(t.waitingFor('debian')).toBe(2);
    expect(t.waitingFor('alpine')).toBe(3);
  });
});
