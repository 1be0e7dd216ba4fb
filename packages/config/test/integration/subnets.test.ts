// dhcp.subnets: relayed subnets, each checked on its own line.
import { describe, expect, it } from 'vitest';
import { formatProblem, loadProject } from '../../src/index.js';
import { GOOD_CONFIG, project, TINY_OS } from '../_project.js';

const lines = async (cfg: string) => {
  const r = await loadProject(await project({ 'config.yaml': cfg, ...TINY_OS }));
  return r.errors.map(formatProblem);
};
const withSubnets = (yaml: string) => `${GOOD_CONFIG}  subnets:\n${yaml}`;
const FAR = `    - range: { start: 10.78.0.100, end: 10.78.0.199 }
      router: 10.78.0.1
`;

describe('dhcp.subnets', () => {
  it('loads relayed subnets with the netmask defaulted', async () => {
    const r = await loadProject(await project({ 'config.yaml': withSubnets(FAR), ...TINY_OS }));
    expect(r.errors).toEqual([]);
    expect(r.project?.config.dhcp.subnets).toEqual([
      { range: { start: '10.78.0.100', end: '10.78.0.199' }, router: '10.78.0.1', netmask: '255.255.255.0' },
    ]);
  });

  it('says, one line each, where a range leaves its subnet, holds the router, or subnets overlap', async () => {
    const cfg = withSubnets(`    - range: { start: 10.78.0.100, end: 10.79.0.5 }
      router: 10.78.0.1
    - range: { start: 10.80.0.1, end: 10.80.0.50 }
      router: 10.80.0.9
    - range: { start: 10.78.0.10, end: 10.78.0.20 }
      router: 10.78.0.254
    - range: { start: 10.77.0.10, end: 10.77.0.20 }
      router: 10.77.0.254
`);
    expect(await lines(cfg)).toEqual([
      'config.yaml:12:41 dhcp.subnets.0.range.end: 10.79.0.5 is outside 10.78.0.0/24 (this subnet: router with netmask) — pick an address in 10.78.0.0/24',
      'config.yaml:15:15 dhcp.subnets.1.router: 10.80.0.9 is inside the pool 10.80.0.1–10.80.0.50 — move the range so it excludes the router',
      'config.yaml:17:15 dhcp.subnets.2.router: 10.78.0.0/24 overlaps dhcp.subnets.0 — give each relayed subnet one entry',
      "config.yaml:19:15 dhcp.subnets.3.router: 10.77.0.0/24 overlaps host_ip's subnet 10.77.0.0/24 — machines on the server's own network are not relayed: list only subnets behind a relay",
    ]);
  });

  it('accepts a reservation in a relayed subnet, and refuses subnets in proxy mode', async () => {
    const reserved = withSubnets(FAR) + '  reservations:\n    - { mac: 52:54:00:00:00:01, ip: 10.78.0.5 }\n';
    expect(await lines(reserved)).toEqual([]);
    const proxy = withSubnets(FAR).replace('interface: br0', 'interface: br0\n  mode: proxy');
    expect(await lines(proxy)).toEqual([
      'config.yaml:13:5 dhcp.subnets: is for server mode: proxy mode gives no addresses — remove it; in proxy mode the site DHCP server leases to relayed machines and this server answers them anyway',
    ]);
  });
});
