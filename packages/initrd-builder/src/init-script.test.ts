import { describe, expect, it } from 'vitest';
import {
  initScript,
  PHASE1_PATHS,
  PHASE1_TCP_CONGESTION,
  PHASE1_TCP_NOTSENT_LOWAT,
  UDHCPC_SCRIPT,
} from './init-script.js';

describe('/init', () => {
  it('mounts, loads modules, runs udhcpc per link for the given rounds, honours bt.server= and never exits', () => {
    const init = initScript({ dhcpRounds: 3 });
    expect(init.startsWith('#!/bin/sh\n')).toBe(true);
    expect(init).toContain('mount -t devtmpfs devtmpfs /dev');
    expect(init).toContain(`echo ${PHASE1_TCP_NOTSENT_LOWAT} > /proc/sys/net/ipv4/tcp_notsent_lowat\n`);
    expect(init).toContain(`echo ${PHASE1_TCP_CONGESTION} > /proc/sys/net/ipv4/tcp_congestion_control\n`);
    // The list comes with the modules archive the boot loader chose; without one, none is loaded.
    expect(init).toContain(`if [ -f ${PHASE1_PATHS.modules} ]; then`);
    expect(init).toContain(`done < ${PHASE1_PATHS.modules}`);
    expect(init).toContain('echo "boottorrent phase-1: modules:${nics:- none}"');
    expect(init).toContain('[ $round -lt 3 ]');
    expect(initScript()).toContain('[ $round -lt 20 ]');
    expect(init).toContain('bt.server=*) server="${arg#bt.server=}"');
    expect(init).toMatch(
      /while true; do\n {2}setsid cttyhack \/usr\/bin\/node \/agent\.mjs\n[^]*setsid cttyhack sh\ndone\n$/,
    );
  });

  it('has a udhcpc script that writes every lease fact the agent reads', () => {
    for (const key of ['interface', 'mac', 'ip', 'mask', 'router', 'serverid', 'siaddr', 'boot_file']) {
      expect(UDHCPC_SCRIPT).toContain(`echo "${key}=`);
    }
    expect(UDHCPC_SCRIPT).toContain(`> ${PHASE1_PATHS.lease}`);
  });
});
