// Server options shared by the real-client tests.
export const serverOpts = (leaseFile: string, leaseTime = 30) => ({
  interface: 'br0',
  serverAddress: '10.77.0.1',
  mode: 'server',
  range: { start: '10.77.0.100', end: '10.77.0.120' },
  leaseTime,
  leaseFile,
  plan: { static: { scriptUrl: 'http://10.77.0.1:8080/boot.ipxe' } },
});
