import { describe, expect, it } from 'vitest';
import { intToIpv4, ipv4ToInt, isIpv4, isNetmask, sameSubnet } from './ipv4.js';

describe('ipv4', () => {
  it('accepts dotted quads and rejects the rest', () => {
    expect(['10.77.0.1', '0.0.0.0', '255.255.255.255'].every(isIpv4)).toBe(true);
    expect(['10.77.0', '10.77.0.256', '010.1.1.1', '1.2.3.4 ', 'a.b.c.d'].some(isIpv4)).toBe(false);
  });
  it('round-trips through integers', () => {
    expect(intToIpv4(ipv4ToInt('192.168.50.199'))).toBe('192.168.50.199');
    expect(ipv4ToInt('255.255.255.255')).toBe(0xffffffff);
  });
  it('accepts only contiguous netmasks', () => {
    expect(isNetmask('255.255.255.0')).toBe(true);
    expect(isNetmask('255.255.252.0')).toBe(true);
    expect(isNetmask('255.0.255.0')).toBe(false);
  });
  it('compares subnets under a mask', () => {
    expect(sameSubnet('10.77.0.1', '10.77.0.200', '255.255.255.0')).toBe(true);
    expect(sameSubnet('10.77.0.1', '10.77.1.1', '255.255.255.0')).toBe(false);
    expect(sameSubnet('10.77.0.1', '10.77.1.1', '255.255.0.0')).toBe(true);
  });
});
