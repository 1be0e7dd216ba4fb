// Usage lines and --help, generated from a command's option and argument specs (command.ts), so
// they cannot drift from what the parser accepts.
import type { BooleanOption, CommandMeta, OptionSpec, PositionalSpec } from './command.js';

/** The built-in help option every command has. */
export const HELP = { name: 'help', short: 'h' } as const;

/** `<dir>` for a value, `server|proxy` for choices. */
export function valueName(o: Exclude<OptionSpec, BooleanOption>): string {
  return o.type === 'string' && !o.multiple && o.choices
    ? o.choices.join('|')
    : `<${o.placeholder ?? 'value'}>`;
}

function optionUsage(name: string, o: OptionSpec): string {
  if (o.type === 'boolean') return `[--${name}]`;
  return `[--${name} ${valueName(o)}]${o.type === 'string' && o.multiple ? '...' : ''}`;
}

function positionalUsage(p: PositionalSpec): string {
  return p.default === undefined ? `<${p.name}>` : `[${p.name}]`;
}

/** Every part of the usage line: command, positionals, then each option. */
function usageParts(cmd: CommandMeta): string[] {
  return [
    `boottorrent ${cmd.name}`,
    ...cmd.positionals.map(positionalUsage),
    ...Object.entries(cmd.options).map(([name, o]) => optionUsage(name, o)),
  ];
}

/** The usage line, generated from the specs, wrapped at `width` columns for `--help`. */
export function usageLine(cmd: CommandMeta, width = HELP_WIDTH): string {
  const lines: string[] = [];
  let line = 'Usage:';
  for (const part of usageParts(cmd)) {
    if (line.length + 1 + part.length > width && line.trim() !== '') {
      lines.push(line);
      line = ' '.repeat(`Usage: boottorrent ${cmd.name}`.length);
    }
    line += ` ${part}`;
  }
  lines.push(line);
  return lines.join('\n');
}

/** The usage on one line for a hint: in full when short, else with `[options]`. */
export function shortUsage(cmd: CommandMeta): string {
  const full = usageParts(cmd).join(' ');
  if (full.length <= 100) return full;
  const short = [`boottorrent ${cmd.name}`, ...cmd.positionals.map(positionalUsage), '[options]'];
  return `${short.join(' ')} (see boottorrent ${cmd.name} --help)`;
}

function optionHelp(name: string, o: OptionSpec): [string, string] {
  const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'boolean' ? '' : ` ${valueName(o)}`}`;
  const notes: string[] = [];
  if (o.type === 'string' && !o.multiple && o.choices) notes.push(`one of: ${o.choices.join(', ')}`);
  if (o.type === 'integer' && (o.min !== undefined || o.max !== undefined))
    notes.push(o.max === undefined ? `≥ ${o.min}` : `${o.min ?? '…'}–${o.max}`);
  if (o.type === 'string' && o.multiple) notes.push('repeatable');
  if (o.type !== 'boolean') {
    const d = o.defaultText ?? ('default' in o && o.default !== undefined ? String(o.default) : undefined);
    if (d !== undefined) notes.push(`default: ${d}`);
  }
  return [flag, notes.length ? `${o.description} (${notes.join('; ')})` : o.description];
}

/** Help lines stay within this many columns (a long word may exceed it). */
const HELP_WIDTH = 100;

/** Splits text into lines of at most `width` columns at spaces. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  return lines;
}

/** `boottorrent <cmd> --help`: summary, usage, arguments and every option, generated from the specs. */
export function commandHelp(cmd: CommandMeta): string {
  const lines = [cmd.summary, '', usageLine(cmd)];
  const table = (rows: [string, string][]) => {
    const width = Math.max(...rows.map(([f]) => f.length)) + 2;
    for (const [f, text] of rows) {
      const [first = '', ...more] = wrap(text, HELP_WIDTH - 2 - width);
      lines.push(`  ${f.padEnd(width)}${first}`, ...more.map((l) => ' '.repeat(2 + width) + l));
    }
  };
  if (cmd.positionals.length) {
    lines.push('', 'Arguments:');
    table(
      cmd.positionals.map((p) => [
        p.name,
        p.default === undefined ? p.description : `${p.description} (default: ${p.default})`,
      ]),
    );
  }
  lines.push('', 'Options:');
  table([
    ...Object.entries(cmd.options).map(([name, o]) => optionHelp(name, o)),
    [`-${HELP.short}, --${HELP.name}`, 'Show this help'],
  ]);
  if (cmd.details) lines.push('', ...wrap(cmd.details, HELP_WIDTH));
  return lines.join('\n') + '\n';
}
