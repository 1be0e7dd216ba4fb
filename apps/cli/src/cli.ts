// The entry point. It loads only command metadata (commands/index.ts); a command's module, and with
// it the server, webtorrent or the lab, is imported when that command runs, so --help stays fast.
import { CliError, CliErrorCode, parseCommandArgs } from './command.js';
import { commandHelp } from './help.js';
import { COMMANDS } from './commands/index.js';
import { out, reportError } from './output.js';
import { VERSION } from './version.js';

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
      CliErrorCode.Usage,
      `unknown ${name.startsWith('-') ? 'option' : 'command'} "${name}"`,
      {
        hint: `commands: ${COMMANDS.map((c) => c.name).join(', ')} (see boottorrent --help)`,
      },
    );
  }
  const args = parseCommandArgs(cmd, rest);
  if (args.help) {
    process.stdout.write(commandHelp(cmd));
    return 0;
  }
  const { run } = await cmd.load();
  return run(args);
}

main(process.argv.slice(2))
  .catch(reportError)
  .then((code) => {
    process.exitCode = code;
  });
