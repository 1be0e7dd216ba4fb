import { runAgent } from './agent.js';
import { pathsFromEnv, toolsFromEnv } from './paths.js';

// Entry of dist/agent.mjs, started by phase-1's /init on the console.

// While a shell, a bin OS or QEMU owns the terminal (cooked mode), Ctrl+C and Ctrl+\ signal the whole
// foreground group: they are meant for the child, not for the agent.
process.on('SIGINT', () => {});
process.on('SIGQUIT', () => {});
runAgent({
  paths: pathsFromEnv(process.env),
  tools: toolsFromEnv(process.env),
  term: { input: process.stdin, output: process.stdout },
}).then(
  (code) => process.exit(code),
  (err: unknown) => {
    // Our bug: print it once; /init then offers a shell and restarts the agent when it is left.
    console.error('boottorrent agent crashed:', err);
    process.exit(70);
  },
);
