// A one-shot DHCP client for crafted firmware: sends a DISCOVER with the given option 93 and vendor
// class to the subnet broadcast, prints the OFFER's file field and vendor class as JSON (or times out).
import { createSocket } from 'node:dgram';

const [broadcast, arch, vendor, macHex, timeoutMs] = process.argv.slice(2);
const b = Buffer.alloc(240);
b[0] = 1; // BOOTREQUEST
b[1] = 1; // Ethernet
b[2] = 6;
const xid = (Math.random() * 2 ** 32) >>> 0;
b.writeUInt32BE(xid, 4);
b.writeUInt16BE(0x8000, 10); // broadcast flag
Buffer.from(macHex, 'hex').copy(b, 28);
b.writeUInt32BE(0x63825363, 236);
const v = Buffer.from(vendor);
const opts = Buffer.from([53, 1, 1, 93, 2, Number(arch) >> 8, Number(arch) & 255, 60, v.length, ...v, 255]);
const sock = createSocket({ type: 'udp4', reuseAddr: true });
sock.bind(68, () => {
  sock.setBroadcast(true);
  sock.send(Buffer.concat([b, opts]), 67, broadcast);
});
const timer = setTimeout(() => {
  process.stdout.write(`${JSON.stringify({ offer: null })}\n`);
  process.exit(0);
}, Number(timeoutMs));
sock.on('message', (m) => {
  if (m[0] !== 2 || m.readUInt32BE(4) !== xid) return;
  const file = m.subarray(108, 236).toString('latin1').replace(/\0.*$/s, '');
  let vendorClass = null;
  for (let i = 240; i < m.length && m[i] !== 255;) {
    if (m[i] === 0) {
      i++;
      continue;
    }
    if (m[i] === 60) vendorClass = m.subarray(i + 2, i + 2 + m[i + 1]).toString('latin1');
    i += 2 + m[i + 1];
  }
  clearTimeout(timer);
  process.stdout.write(
    `${JSON.stringify({ offer: { file, vendorClass, yiaddr: [...m.subarray(16, 20)].join('.') } })}\n`,
  );
  sock.close();
});
