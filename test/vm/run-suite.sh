#!/bin/bash
# Host side of the VM tests: boots one kernel and runs the guest tests in it.
#   test/vm/run-suite.sh BUILD_DIR sid|trixie [TEST...]
# Prints the guest's PASS/FAIL/SKIP lines; exits non-zero if any failed or
# the VM did not finish.
set -u
BUILD=$(realpath "$1"); KERNEL=$2; shift 2
HERE=$(cd "$(dirname "$0")" && pwd)
TESTS=${*:-t-bad-input t-mem-fs t-mem-fio t-mem-discard t-data-modes t-iscsi-tgtd t-iscsi-config t-iscsi-reload t-iscsi-recovery t-iscsi-lio t-nvme-tcp t-nvme-recovery t-daemon-mixed t-unprivileged t-portal-failover}
case $KERNEL in
sid) EXPECT_MODE=zero-copy EXPECT_UPDATE_SIZE=1 ;; # 6.16+: AUTO_BUF_REG, UPDATE_SIZE
*) EXPECT_MODE=copy EXPECT_UPDATE_SIZE=0 ;;        # 6.12: no zero copy; the kernel's copy
esac
share=$(mktemp -d /tmp/netublk-vm-$KERNEL.XXXXXX)
NU_VM_SHARE=$share "$HERE/vm.sh" --kernel "$KERNEL" --timeout 1500 \
	"EXPECT_MODE=$EXPECT_MODE EXPECT_UPDATE_SIZE=$EXPECT_UPDATE_SIZE bash $HERE/guest/run.sh $BUILD $TESTS" | tee "$share/output.log"
rc=${PIPESTATUS[0]}
if ! grep -q '^PASS: ' "$share/output.log"; then
	echo "FAIL: vm-$KERNEL: the guest ran no test"
	rc=1
fi
exit $rc
