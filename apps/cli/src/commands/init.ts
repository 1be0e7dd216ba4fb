import { initProject } from '@boottorrent/config';
import { defineCommand } from '../command.js';
import { out } from '../output.js';

export const initCommand = defineCommand({
  name: 'init',
  summary: 'Create a project directory: config.yaml, oss/ with an example OS, and JSON Schemas for editors.',
  usage: 'boottorrent init <dir> [--host-ip <ip>] [--interface <name>]',
  options: {
    'host-ip': { type: 'string' },
    interface: { type: 'string' },
  },
  optionHelp: {
    'host-ip': "The server's IPv4 address on the boot network (default 192.168.50.1)",
    interface: 'The boot network interface (default eth0)',
  },
  positionals: [1, 1],
  details: 'Refuses to write into an existing non-empty directory.',
  async run({ values, positionals }) {
    const dir = positionals[0]!;
    const r = await initProject(dir, {
      hostIp: values['host-ip'] as string | undefined,
      interface: values.interface as string | undefined,
    });
    out(`Created ${r.dir}:`);
    for (const f of r.files) out(`  ${f}`);
    out('');
    out('Next: put each OS in its own folder under oss/ (see oss/README.md), set general.host_ip and');
    out(`dhcp.interface in config.yaml, then run: boottorrent check ${dir}`);
    return 0;
  },
});
