import { defineCommand } from '../command.js';
import { out } from '../output.js';
import { VERSION } from '../version.js';

export const versionCommand = defineCommand({
  name: 'version',
  summary: 'Print the version of boottorrent and of Node.',
  usage: 'boottorrent version',
  options: {},
  optionHelp: {},
  positionals: [0, 0],
  async run() {
    out(`boottorrent ${VERSION} (node ${process.version})`);
    return 0;
  },
});
