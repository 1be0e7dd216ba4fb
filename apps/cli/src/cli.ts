import { ConfigError, formatProblem } from '@boottorrent/config';
import { InitrdError } from '@boottorrent/initrd-builder';
import { PxeError } from '@boottorrent/pxe';
import { SeederError } from '@boottorrent/seeder';
import { TftpError } from '@boottorrent/tftp';
import { TrackerError } from '@boottorrent/tracker';
import { CliError, commandHelp, parseCommandArgs, type Command } from './command.js';
import { buildCommand } from './commands/build.js';
import { checkCommand } from './commands/check.js';
import { initCommand } from './commands/init.js';
import { labCommand } from './commands/lab.js';
import { startCommand } from './commands/start.js';
import { versionCommand } from './commands/version.js';
import { err, out } from './output.js';
import { VERSION } from './version.js';

const COMMANDS: Command[] = [
  initCommand,
  checkCommand,
  buildCommand,
  startCommand,
  labCommand,
  versionCommand,
];

function programHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return [
    'boottorrent — network-boot a room of computers; they feed each other the OS over BitTorrent.',
    '',
    'Usage: boottorrent <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    'Options:',
    '  -h, --help     Show help (also: boottorrent <command> --help)',
    '  -v, --version  Print the version',
    '',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    const topic = name === 'help' ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
    process.stdout.write(topic ? commandHelp(topic) : programHelp());
    return name === undefined ? 2 : 0;
  }
  if (name === '-v' || name === '--version') {
    out(VERSION);
    return 0;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    throw new CliError(
      `unknown ${name.startsWith('-') ? 'option' : 'command'} "${name}"`,
      `commands: ${COMMANDS.map((c) => c.name).join(', ')} (see boottorrent --help)`,
      2,
    );
  }
  if (rest.includes('-h') || rest.includes('--help')) {
    process.stdout.write(commandHelp(cmd));
    return 0;
  }
  return cmd.run(parseCommandArgs(cmd, rest));
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof CliError || e instanceof ConfigError) {
      err(`boottorrent: ${e.message}`);
      for (const p of e instanceof ConfigError ? e.problems : []) err(`  ${formatProblem(p)}`);
      if (e.hint) err(`hint: ${e.hint}`);
      process.exitCode = e instanceof CliError ? e.exitCode : 1;
    } else if (
      e instanceof InitrdError ||
      e instanceof PxeError ||
      e instanceof TftpError ||
      e instanceof SeederError ||
      e instanceof TrackerError
    ) {
      // A package's known error: its message already says what and how to fix it.
      err(`boottorrent: ${e.message}`);
      process.exitCode = 1;
    } else {
      err('boottorrent: internal error (this is a bug; please report it with the text below)');
      err(e instanceof Error ? (e.stack ?? e.message) : String(e));
      process.exitCode = 70;
    }
  },
);
