import { describe, expect, it } from 'vitest';
import { formatProblem, loadProject } from '../../src/index.js';
import { GOOD_CONFIG, project, TINY_OS } from '../_project.js';

/** The project with `machines:` appended (it starts on line 11). */
const withMachines = async (yaml: string) => {
  const r = await loadProject(await project({ 'config.yaml': GOOD_CONFIG + yaml, ...TINY_OS }));
  return { project: r.project, lines: r.errors.map(formatProblem) };
};

describe('machines:', () => {
  it('loads entries by MAC, list and prefix with their defaults', async () => {
    const { project: p, lines } = await withMachines(
      [
        'machines:',
        '  - mac: 52:54:00:12:34:56',
        '    os: tiny',
        '    menu: false',
        '  - mac: [52:54:00:00:00:01, 52-54-00-00-00-02]',
        '    cmdline: quiet nomodeset',
        '  - mac: 52:54:00:*',
        '    name: room A',
        '',
      ].join('\n'),
    );
    expect(lines).toEqual([]);
    expect(p?.config.machines).toEqual([
      { mac: '52:54:00:12:34:56', os: 'tiny', menu: false, cmdline: '' },
      { mac: ['52:54:00:00:00:01', '52-54-00-00-00-02'], menu: true, cmdline: 'quiet nomodeset' },
      { mac: '52:54:00:*', name: 'room A', menu: true, cmdline: '' },
    ]);
  });

  it('defaults to no entries', async () => {
    const { project: p } = await withMachines('');
    expect(p?.config.machines).toEqual([]);
  });

  it('reports an unknown OS at its line', async () => {
    const { lines } = await withMachines('machines:\n  - mac: 52:54:00:12:34:56\n    os: tinny\n');
    expect(lines).toEqual([
      'config.yaml:13:9 machines.0.os: "tinny" is not a folder in oss/ — use one of: tiny',
    ]);
  });

  it('reports a bad MAC and a bad pattern, each at its own position', async () => {
    const { lines } = await withMachines(
      'machines:\n  - mac: 52:54:00:12:34\n  - mac: [52:54:00:00:00:01, "52:54:0*"]\n',
    );
    expect(lines).toEqual([
      'config.yaml:12:10 machines.0.mac: "52:54:00:12:34" is not a MAC address or pattern — write aa:bb:cc:dd:ee:ff, or a prefix of whole octets such as aa:bb:cc:*',
      'config.yaml:13:30 machines.1.mac.1: "52:54:0*" is not a MAC address or pattern — write aa:bb:cc:dd:ee:ff, or a prefix of whole octets such as aa:bb:cc:*',
    ]);
  });

  it('reports a MAC or pattern listed twice, whatever its spelling, at the second place', async () => {
    const { lines } = await withMachines(
      [
        'machines:',
        '  - mac: 52:54:00:12:34:56',
        '  - mac: [52:54:00:00:00:01, 52-54-00-12-34-56]',
        '  - mac: 52:54:00:*',
        '  - mac: 52-54-00-*',
        '',
      ].join('\n'),
    );
    expect(lines).toEqual([
      'config.yaml:13:30 machines.1.mac.1: 52:54:00:12:34:56 is also listed at machines.0.mac — list each MAC or pattern in one entry only',
      'config.yaml:15:10 machines.3.mac: 52:54:00:* is also listed at machines.2.mac — list each MAC or pattern in one entry only',
    ]);
  });

  it('reports a command line that would break the boot script, and unknown keys', async () => {
    const { lines } = await withMachines(
      'machines:\n  - mac: 52:54:00:12:34:56\n    cmdline: root=${x}\n    menus: false\n',
    );
    expect(lines).toEqual([
      'config.yaml:14:5 machines.0.menus: unknown key — did you mean "menu"?',
      'config.yaml:13:14 machines.0.cmdline: holds a quote, $ or backslash — write the extra kernel parameters as plain words, e.g. quiet nomodeset',
    ]);
  });
});
