import { join } from 'node:path';
import { CliError, defineCommand } from '../command.js';
import { formatSummary } from '../lab/timeline.js';
import { runLab } from '../lab/lab.js';
import { err, out } from '../output.js';
import { cacheHome } from '../server/paths.js';

const int = (v: unknown, name: string, min: number): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min)
    throw new CliError(
      `--${name} must be a whole number ≥ ${min}, got "${String(v)}"`,
      'see boottorrent lab --help',
      2,
    );
  return n;
};

export const labCommand = defineCommand({
  name: 'lab',
  summary: 'Boot a virtual room: a private network, the server, and N QEMU VMs PXE-booting over BitTorrent.',
  usage: 'boottorrent lab [--vms <n>] [--uefi] [--mode server|proxy] [--project <dir>] [options]',
  options: {
    vms: { type: 'string' },
    uefi: { type: 'boolean' },
    kvm: { type: 'boolean' },
    memory: { type: 'string' },
    nic: { type: 'string' },
    timeout: { type: 'string' },
    'work-dir': { type: 'string' },
    project: { type: 'string' },
    mode: { type: 'string' },
    'site-dhcp': { type: 'boolean' },
    'menu-timeout': { type: 'string' },
    'seed-time': { type: 'string' },
    'padding-mib': { type: 'string' },
    'no-tracker': { type: 'boolean' },
    'no-seeder': { type: 'boolean' },
    'kill-vm': { type: 'string' },
    stagger: { type: 'string' },
    'install-deps': { type: 'boolean' },
    'host-root': { type: 'string', multiple: true },
    json: { type: 'boolean' },
  },
  optionHelp: {
    vms: 'Number of VMs (default 3)',
    uefi: 'UEFI firmware (OVMF) instead of SeaBIOS',
    kvm: 'Use KVM instead of TCG (where the host can run these guests)',
    memory: 'RAM per VM in MiB (default 1024; phase-1 with Node needs ≥ 320 plus the OS)',
    nic: 'QEMU NIC model (default virtio-net-pci; e1000 works too)',
    timeout: 'Seconds for every VM to reach its OS (default 400)',
    'work-dir': 'Where the demo project, out/ and serial logs go (default ~/.cache/boottorrent/lab)',
    project: 'Boot this project instead of the demo (its host_ip becomes the bridge address; interface br0)',
    mode: 'Demo DHCP mode: server (default) or proxy (use with --site-dhcp)',
    'site-dhcp': 'Also run a site DHCP server (dnsmasq on a second host) handing out the addresses',
    'menu-timeout': 'Demo: menu countdown in seconds (default 3)',
    'seed-time': 'Demo: seconds each client seeds before loading its OS (default 20)',
    'padding-mib': 'Demo: extra MiB in the demo OS, so the swarm has something to share (default 24)',
    'no-tracker': 'Demo: disable the tracker',
    'no-seeder': 'Run no BitTorrent seeder on the server: clients use each other and the web seed',
    'kill-vm': 'Fault: power off VM <n> (0-based) at 30% of its download; the others must still boot',
    stagger: 'Seconds between VM power-ons (default 0)',
    'install-deps':
      'apt-get install what is missing and unpack a kernel and busybox-static (no silent installs otherwise)',
    'host-root': 'Also look here for the kernel, modules, busybox and kexec; repeatable',
    json: 'Print the result as JSON instead of the table',
  },
  positionals: [0, 0],
  details:
    'Needs root (namespaces, taps). Everything runs inside a network namespace the lab creates and removes,\n' +
    'even on failure or Ctrl+C. Exit 1 if any VM fails to reach its OS. Serial logs: <work-dir>/vm<n>.serial.log.',
  async run({ values }) {
    if (process.getuid?.() !== 0)
      throw new CliError('the lab needs root (network namespaces, tap devices)', 'run it with sudo');
    const mode = (values.mode as string | undefined) ?? 'server';
    if (mode !== 'server' && mode !== 'proxy')
      throw new CliError(`--mode must be server or proxy, got "${mode}"`, 'see boottorrent lab --help', 2);
    const vms = int(values.vms, 'vms', 1) ?? 3;
    const kill = int(values['kill-vm'], 'kill-vm', 0);
    if (kill !== undefined && kill >= vms)
      throw new CliError(`--kill-vm ${kill} is not one of the ${vms} VMs (0-based)`, '', 2);
    const stop = new AbortController();
    const onSignal = () => {
      if (stop.signal.aborted) process.exit(130);
      err('lab: stopping and cleaning up (Ctrl+C again to exit at once)');
      stop.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const workDir = (values['work-dir'] as string | undefined) ?? join(cacheHome(), 'lab');
    const summary = await runLab({
      vms,
      uefi: Boolean(values.uefi),
      accel: values.kvm ? 'kvm' : 'tcg',
      memoryMb: int(values.memory, 'memory', 192) ?? 1024,
      nic: (values.nic as string | undefined) ?? 'virtio-net-pci',
      timeoutS: int(values.timeout, 'timeout', 10) ?? 400,
      workDir,
      projectDir: values.project as string | undefined,
      demo: {
        mode,
        timeout: int(values['menu-timeout'], 'menu-timeout', 0) ?? 3,
        seedTime: int(values['seed-time'], 'seed-time', 0) ?? 20,
        padding: (int(values['padding-mib'], 'padding-mib', 0) ?? 24) * 1024 * 1024,
        tracker: !values['no-tracker'],
      },
      siteDhcp: Boolean(values['site-dhcp']),
      kill: kill === undefined ? undefined : { index: kill, atProgress: 0.3 },
      noSeeder: Boolean(values['no-seeder']),
      stagger: int(values.stagger, 'stagger', 0) ?? 0,
      installDeps: Boolean(values['install-deps']),
      hostRoots: values['host-root'] as string[] | undefined,
      log: (l) => err(`lab: ${l}`),
      signal: stop.signal,
    });
    out(values.json ? JSON.stringify(summary, null, 2) : formatSummary(summary));
    if (!values.json) out(`details: ${join(workDir, 'lab-result.json')}, serial logs in ${workDir}`);
    return summary.ok ? 0 : 1;
  },
});
