#!/bin/bash
# Host side of the VM tests: boots one kernel and runs the guest tests in it.
#   test/vm/run-suite.sh BUILD_DIR sid|trixie [TEST...]
# Prints the guest's PASS/FAIL/SKIP lines; exits non-zero if any failed or
# the VM did not finish.
#
# One VM death costs one test: the guest records which test it is running
# (/share/progress); if the VM dies, that test is reported and the rest run
# in a new boot. An emulator fault (an int3 oops: kernel text patched under
# multi-threaded TCG) is retried once in a new boot and said in the summary;
# any other oops or panic fails the test that was running. (NU_VM_SH stands
# in for vm.sh in the harness's own test, test/host/vm-suite-harness.sh.)
set -u
BUILD=$(realpath "$1"); KERNEL=$2; shift 2
HERE=$(cd "$(dirname "$0")" && pwd)
TESTS=${*:-t-bad-input t-ctl-hostile t-mem-fs t-mem-fio t-mem-discard t-data-modes t-batch-io t-iscsi-tgtd t-iscsi-config t-iscsi-reload t-iscsi-recovery t-iscsi-lio t-nvme-tcp t-nvme-recovery t-nvme-auth t-nvme-tls t-daemon-mixed t-own-dev t-podman t-unprivileged t-portal-failover t-identity t-multipath t-link-failover t-ana t-alua t-bench-scripts}
TIMEOUT=${NU_VM_SUITE_TIMEOUT:-2400}
case $KERNEL in
sid) EXPECT_MODE=zero-copy EXPECT_UPDATE_SIZE=1 ;; # 6.16+: AUTO_BUF_REG, UPDATE_SIZE
*) EXPECT_MODE=copy EXPECT_UPDATE_SIZE=0 ;;        # 6.12: no zero copy; the kernel's copy
esac
share=$(mktemp -d /tmp/netublk-vm-$KERNEL.XXXXXX)
# shellcheck disable=SC2206
remaining=($TESTS)
retried="" emulator_faults=0 rc=0 boot=0
deadline=$(($(date +%s) + TIMEOUT))

while [ ${#remaining[@]} -gt 0 ]; do
	boot=$((boot + 1))
	left=$((deadline - $(date +%s)))
	if [ $left -lt 60 ] || [ $boot -gt $((2 * $(echo $TESTS | wc -w) + 2)) ]; then
		for t in "${remaining[@]}"; do echo "FAIL: $t: not run (the suite ran out of time or boots)"; done
		rc=1
		break
	fi
	rm -f "$share/progress"
	[ $boot -gt 1 ] && echo "guest: boot $boot for: ${remaining[*]}"
	NU_VM_SHARE=$share "${NU_VM_SH:-$HERE/vm.sh}" --kernel "$KERNEL" --timeout "$left" \
		"EXPECT_MODE=$EXPECT_MODE EXPECT_UPDATE_SIZE=$EXPECT_UPDATE_SIZE bash $HERE/guest/run.sh $BUILD ${remaining[*]}" \
		>"$share/boot-$boot.log" 2>&1
	brc=$?
	cp "$share/console.log" "$share/console-$boot.log" 2>/dev/null
	if grep -qx end "$share/progress" 2>/dev/null; then
		cat "$share/boot-$boot.log"
		[ $brc = 0 ] || rc=1
		break # the guest got through its list
	fi
	# The VM died or hung: which test was running, and why.
	started=$(sed -n 's/^start //p' "$share/progress" 2>/dev/null | tail -n 1)
	finished=$(sed -n 's/^done //p' "$share/progress" 2>/dev/null | tail -n 1)
	running=""
	[ -n "$started" ] && [ "$started" != "$finished" ] && running=$started
	next=()
	skip=1
	[ -z "$started" ] && skip=0
	for t in "${remaining[@]}"; do
		if [ $skip = 1 ]; then
			[ "$t" = "$started" ] && skip=0
			continue
		fi
		next+=("$t")
	done
	why="hung until the suite's time-out"
	grep -q 'Kernel panic\|Oops\|BUG:' "$share/console-$boot.log" 2>/dev/null &&
		why=$(grep -m1 -o 'Oops: .*\|BUG: .*\|Kernel panic.*' "$share/console-$boot.log" | head -c 160)
	what=${running:-boot}
	if grep -q 'Oops: int3' "$share/console-$boot.log" 2>/dev/null &&
		! [[ " $retried " == *" $what "* ]]; then
		# Its partial results go: it runs again from the start.
		if [ -n "$running" ]; then
			sed "/^=== $running\$/,\$d" "$share/boot-$boot.log"
			next=("$running" "${next[@]}")
		else
			cat "$share/boot-$boot.log"
		fi
		emulator_faults=$((emulator_faults + 1))
		retried="$retried $what"
		echo "guest: emulator fault (int3 oops in patched kernel text) during $what: retried in a new boot"
	else
		cat "$share/boot-$boot.log"
		rc=1
		if [ -n "$running" ]; then
			echo "FAIL: $running: the VM died ($why); console: $share/console-$boot.log"
		elif [ -z "$started" ]; then
			echo "FAIL: vm-$KERNEL: the VM died before any test ($why)"
			break
		fi
	fi
	remaining=("${next[@]}")
done
echo "guest: $KERNEL: $boot boot(s), $emulator_faults emulator fault(s)${retried:+, retried:$retried}"
if ! grep -q '^PASS: ' "$share"/boot-*.log; then
	echo "FAIL: vm-$KERNEL: the guest ran no test"
	rc=1
fi
exit $rc
