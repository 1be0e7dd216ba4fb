import { runAgent } from './agent.js';
import { pathsFromEnv, toolsFromEnv } from './paths.js';
import { terminalsFromEnv } from './screens.js';

// Entry of dist/agent.mjs, started by phase-1's /init on the console.

// While a shell, a bin OS or QEMU owns the terminal (cooked mode), Ctrl+C and Ctrl+\ signal the whole
// foreground group: they are meant for the child, not for the agent.
process.on('SIGINT', () => {});
process.on('SIGQUIT', () => {});
// A child that took a screen as its controlling terminal hangs it up when it exits; the agent reopens
// the screen (screens.ts) and must survive that tty's signal and the failed writes on its old stdio.
process.on('SIGHUP', () => {});
process.stdout.on('error', () => {});
process.stderr.on('error', () => {});
runAgent({
  paths: pathsFromEnv(process.env),
  tools: toolsFromEnv(process.env),
  term: terminalsFromEnv(process.env),
}).then(
  (code) => process.exit(code),
  (err: unknown) => {
    // Our bug: print it once; /init then offers a shell and restarts the agent when it is left.
    console.error('boottorrent agent crashed:', err);
    process.exit(70);
  },
);
