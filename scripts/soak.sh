#!/bin/bash
# SOAK (not a test): MINUTES of fio verify on every device of an iSCSI
# (LIO) and an NVMe/TCP (nvmet) target inside the VM, through a schedule
# of faults: the link down and up, the targets' ports disabled, 5% loss
# with 50 ms delay, SIGHUP reloads, LUNs and namespaces added, resized and
# removed on the targets, netublkd killed with -9 and recovered. Reports
# I/O errors, verify failures, reconnects, recoveries, and netublkd's
# memory and file descriptors at the start and the end. With --no-kill the
# kill step samples the one long-lived instance's memory instead.
#   scripts/soak.sh MINUTES [sid|trixie] [--no-kill]
set -euo pipefail
cd "$(dirname "$0")/.."
MIN=${1:?usage: scripts/soak.sh MINUTES [sid|trixie] [--no-kill]}
KILL=kill
[ "${3:-}" = --no-kill ] && KILL=no-kill
scripts/setup.sh >/dev/null
scripts/build.sh
share=$(mktemp -d /tmp/netublk-soak.XXXXXX)
NU_VM_SHARE=$share test/vm/vm.sh --kernel "${2:-sid}" --timeout $((MIN * 60 + 900)) \
	"bash $PWD/scripts/soak-guest.sh $PWD/build $MIN $KILL" | grep -v '^    ' || true
echo "results: $share/soak (summary.txt, events.log, daemon and fio logs)"
cat "$share/soak/summary.txt"
grep -q '^verdict: pass' "$share/soak/summary.txt"
