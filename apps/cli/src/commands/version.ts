import { out } from '../output.js';
import { VERSION } from '../version.js';

export async function run(): Promise<number> {
  out(`boottorrent ${VERSION} (node ${process.version})`);
  return 0;
}
