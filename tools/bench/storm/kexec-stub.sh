#!/bin/sh
# kexec for the storm benchmark's agents (the agent's BT_KEXEC): the agent runs it with the real
# command line. `-l KERNEL --initrd=FILE --command-line=...` records the line in STORM_KEXEC_LOG and,
# as kexec would, fails when a file it names cannot be read. `-e` records that the machine would now
# load its OS and ends the agent that ran it (its parent): on a machine, kexec -e never returns and
# nothing of phase-1 runs on. Any other use fails.
log=${STORM_KEXEC_LOG:?}
case "$1" in
-l)
  shift
  for a in "$@"; do
    case "$a" in
    --command-line=*) ;;
    --initrd=*) [ -r "${a#--initrd=}" ] || { echo "kexec: cannot read ${a#--initrd=}" >&2; exit 1; } ;;
    *) [ -r "$a" ] || { echo "kexec: cannot read $a" >&2; exit 1; } ;;
    esac
  done
  echo "load $*" >>"$log"
  ;;
-e)
  echo "exec" >>"$log"
  kill -KILL "$PPID"
  ;;
*)
  echo "kexec stub: unexpected $*" >&2
  exit 1
  ;;
esac
