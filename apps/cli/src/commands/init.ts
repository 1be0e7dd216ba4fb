import { initProject } from '@boottorrent/config';
import type { ArgsOf } from '../command.js';
import { out } from '../output.js';
import type { init } from './index.js';

export async function run({ values, positionals }: ArgsOf<typeof init>): Promise<number> {
  const { dir } = positionals;
  const r = await initProject(dir, { hostIp: values['host-ip'], interface: values.interface });
  out(`Created ${r.dir}:`);
  for (const f of r.files) out(`  ${f}`);
  out('');
  out('Next: put each OS in its own folder under oss/ (see oss/README.md), set general.host_ip and');
  out(`dhcp.interface in config.yaml, then run: boottorrent check ${dir}`);
  out('The machine API (PUT /api/v1/machines/<mac>) takes the token in .boottorrent-token (keep it secret).');
  return 0;
}
