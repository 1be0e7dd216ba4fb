import { join } from 'node:path';
import { CliError, CliErrorCode, type ArgsOf } from '../command.js';
import { formatSummary } from '../lab/report.js';
import { runLab } from '../lab/lab.js';
import { err, out } from '../output.js';
import { cacheHome } from '@boottorrent/server';
import type { lab } from './index.js';

export async function run({ values }: ArgsOf<typeof lab>): Promise<number> {
  const { vms, 'kill-vm': kill } = values;
  if (kill !== undefined && kill >= vms)
    throw new CliError(CliErrorCode.BadOption, `--kill-vm ${kill} is not one of the ${vms} VMs (0-based)`, {
      hint: `pick a VM from 0 to ${vms - 1}`,
    });
  let expect: RegExp | undefined;
  try {
    expect = values.expect === undefined ? undefined : new RegExp(values.expect);
  } catch (e) {
    throw new CliError(CliErrorCode.BadOption, `--expect "${values.expect}" is not a regular expression`, {
      hint: `${(e as Error).message.split('\n')[0]}; e.g. --expect 'login:'`,
    });
  }
  if (process.getuid?.() !== 0)
    throw new CliError(CliErrorCode.NotRoot, 'the lab needs root (network namespaces, tap devices)', {
      hint: 'run it with sudo',
    });
  const stop = new AbortController();
  const onSignal = () => {
    if (stop.signal.aborted) process.exit(130);
    err('lab: stopping and cleaning up (Ctrl+C again to exit at once)');
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const workDir = values['work-dir'] ?? join(cacheHome(), 'lab');
  const summary = await runLab(values, {
    workDir,
    expect,
    log: (l) => err(`lab: ${l}`),
    signal: stop.signal,
  });
  out(values.json ? JSON.stringify(summary, null, 2) : formatSummary(summary));
  if (!values.json) out(`details: ${join(workDir, 'lab-result.json')}, serial logs in ${workDir}`);
  return summary.ok ? 0 : 1;
}
