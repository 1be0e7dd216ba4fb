// The `boottorrent` executable. Checks the Node version before loading anything that needs a newer
// one (node:zlib's zstd, AsyncDisposableStack), so an old Node gets one clear line, not a stack trace.
const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  process.stderr.write(
    `boottorrent: needs Node 22 or newer (this is ${process.version})\n` +
      'hint: install a current Node, or run it from the repository with npx, which uses the pinned Node 24\n',
  );
  process.exit(1);
}
// A URL, so the bundler keeps cli.js (and its imports) out of this file.
await import(new URL('./cli.js', import.meta.url).href);
