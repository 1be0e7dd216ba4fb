#!/usr/bin/env node
// The `boottorrent` executable: plain JavaScript (present before any build, so npm links it), checks
// the Node version before loading anything that needs a newer one, then runs the bundled CLI.
import { existsSync } from 'node:fs';

// The same floor as package.json's engines: the server needs AsyncDisposableStack (Node 24).
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(
    `boottorrent: needs Node 24 or newer (this is ${process.version})\n` +
      'hint: install a current Node, or run it from the repository with npx, which uses the pinned Node 24\n',
  );
  process.exit(1);
}
const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write(
    'boottorrent: not built yet (dist/cli.js is missing)\nhint: run npm run build in the repository\n',
  );
  process.exit(1);
}
await import(cli.href);
