import { describe, expect, it } from 'vitest';
import { DEFAULT_MEMORY_MB, DEFAULT_NIC_MODEL, OVMF_CODE, qemuArgs, startVm } from './vm.js';

/** The value after `flag` each time it appears. */
const values = (args: string[], flag: string) => args.flatMap((a, i) => (a === flag ? [args[i + 1]] : []));

describe('qemuArgs', () => {
  it('direct boot: kernel, initrd, command line, user-mode network, TCG, serial on stdio', () => {
    const a = qemuArgs(
      { kernel: '/k', initrd: '/i', append: 'console=ttyS0', nic: { model: 'e1000' } },
      '/d',
    );
    expect(values(a, '-kernel')).toEqual(['/k']);
    expect(values(a, '-initrd')).toEqual(['/i']);
    expect(values(a, '-append')).toEqual(['console=ttyS0']);
    expect(values(a, '-netdev')).toEqual(['user,id=n0']);
    expect(values(a, '-device')).toEqual(['e1000,netdev=n0']);
    expect(values(a, '-accel')).toEqual(['tcg']);
    expect(values(a, '-m')).toEqual([String(DEFAULT_MEMORY_MB)]);
    expect(values(a, '-monitor')).toEqual(['none']);
    expect(a).toContain('-nographic'); // SeaBIOS and iPXE print to the serial port only with it
    expect(a).toContain('-no-reboot');
    expect(a).not.toContain('-boot');
  });

  it('BIOS PXE: the tap, the MAC, the NIC first in the boot order', () => {
    const a = qemuArgs({ nic: { tap: 'tap3', mac: '52:54:00:77:00:13' }, memoryMb: 128, accel: 'kvm' }, '/d');
    expect(values(a, '-netdev')).toEqual(['tap,id=n0,ifname=tap3,script=no,downscript=no']);
    expect(values(a, '-device')).toEqual([
      `${DEFAULT_NIC_MODEL},netdev=n0,mac=52:54:00:77:00:13,bootindex=1`,
    ]);
    expect(values(a, '-boot')).toEqual(['n']);
    expect(values(a, '-m')).toEqual(['128']);
    expect(values(a, '-accel')).toEqual(['kvm']);
    expect(a).not.toContain('-kernel');
  });

  it("UEFI PXE: q35, OVMF code read-only, the VM's own vars copy, an emptied NIC ROM", () => {
    const a = qemuArgs({ name: 'vm2', firmware: 'uefi', nic: { tap: 'tap1', romfile: '' } }, '/work');
    expect(values(a, '-machine')).toEqual(['q35']);
    expect(values(a, '-drive')).toEqual([
      `if=pflash,format=raw,readonly=on,file=${OVMF_CODE}`,
      'if=pflash,format=raw,file=/work/vm2.vars.fd',
    ]);
    expect(values(a, '-device')).toEqual([`${DEFAULT_NIC_MODEL},netdev=n0,romfile=,bootindex=1`]);
    expect(a).not.toContain('-boot');
  });

  it('screen: a standard VGA card and a monitor socket in the work dir', () => {
    const a = qemuArgs({ name: 'vm0', screen: true }, '/w');
    expect(values(a, '-vga')).toEqual(['std']);
    expect(values(a, '-monitor')).toEqual(['unix:/w/vm0.monitor.sock,server,nowait']);
    expect(values(a, '-nic')).toEqual(['none']);
  });

  it('appends extra arguments last', () => {
    expect(qemuArgs({ extraArgs: ['-rtc', 'base=utc'] }, '/d').slice(-2)).toEqual(['-rtc', 'base=utc']);
  });
});

describe('startVm refuses bad options before starting QEMU', () => {
  it.each([
    [{ nic: { tap: 'tap0' } }, /tap tap0 given without the namespace/],
    [{ initrd: '/i' }, /without a kernel/],
    [{ memoryMb: 0 }, /memoryMb 0/],
    [{ cpus: 1.5 }, /cpus 1.5/],
    [{ name: 'vm 1' }, /VM name/],
    [{ nic: { mac: '52:54:00' } }, /NIC MAC/],
  ])('%o', async (opts, message) => {
    await expect(startVm(opts)).rejects.toMatchObject({
      code: 'LAB_BAD_OPTION',
      message: expect.stringMatching(message),
    });
  });

  it('refuses a monitor socket path too long for a unix socket', async () => {
    await expect(startVm({ screen: true, workDir: `/tmp/${'d'.repeat(100)}` })).rejects.toMatchObject({
      code: 'LAB_BAD_OPTION',
      hint: 'give the VM a shorter workDir',
    });
  });

  it('says where it could not write the UEFI variables', async () => {
    await expect(startVm({ firmware: 'uefi', workDir: '/nonexistent/bt-lab' })).rejects.toMatchObject({
      code: 'LAB_BAD_OPTION',
      message: expect.stringContaining('/nonexistent/bt-lab/vm.vars.fd'),
    });
  });

  it('rejects with LAB_ABORTED when the signal is already aborted', async () => {
    await expect(startVm({ signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'LAB_ABORTED' });
  });
});
