#!/bin/bash
# Guest side of bench-vm-iscsi.sh.
set -euo pipefail
B=$1 REPS=$2 SECS=$3 BASE=${4:-}
SIZE_MB=${NU_BENCH_SIZE_MB:-512} # the device size the jobs run over
modprobe ublk_drv
. "$(dirname "$0")/../test/lio-lib.sh"
lio_load
IQN=iqn.2026-11.org.netublk:bench
lio_target $IQN 3260
# LIO binds each connection's RX and TX threads to one CPU, chosen by the
# connection's number (in login order) modulo the CPUs allowed. The
# netublkd instances log in at the same time, so each run dealt them
# different placements, kept for the whole run: two identical instances
# were 1.31x and 1.01x the kernel in one run (BENCHMARKS.md). One allowed
# CPU gives every connection, the kernel initiator's too, the same.
echo "${NU_BENCH_LIO_CPUS:-1}" >"$LIO/iscsi/cpus_allowed_list"
lio_ramdisk_lun $IQN $SIZE_MB
lio_open $IQN
lio_enable $IQN
mkdir -p /etc/iscsi
echo "InitiatorName=iqn.2026-11.org.netublk:bench-kernel" >/etc/iscsi/initiatorname.iscsi
kernel_login $IQN 3260
sd=$KDEV
dd if=/dev/urandom of=$sd bs=1M count=$SIZE_MB oflag=direct status=none # precondition

SPEC=portal=127.0.0.1:3260,target=$IQN
. "$(dirname "$0")/bench-lib.sh"
# The best mode (zero copy on Linux 7.2) and copy, side by side.
names=(best cp)
bench_netublkd best "$B/netublkd" --iscsi "$SPEC" --queues 2 ${NU_BENCH_ARGS:-}
bench_netublkd cp "$B/netublkd" --iscsi "$SPEC" --queues 2 --data-mode copy ${NU_BENCH_ARGS:-}
[ -n "$BASE" ] && names+=(base) && BENCH_CPUS=${NU_BENCH_BASE_CPUS:-} bench_netublkd base "$BASE/netublkd" --iscsi "$SPEC" --queues 2 \
	${NU_BENCH_BASE_ARGS:-}
NQ=${NU_BENCH_QUEUES:-}
[ -n "$NQ" ] && names+=(nq) && bench_netublkd nq "$B/netublkd" --iscsi "$SPEC" --queues "$NQ"
bench_ready "${names[@]}"
best_mode=$(bench_mode best)
sleep 1
echo "devices: kernel=$sd netublk-$best_mode=$(bench_dev best) netublk-copy=$(bench_dev cp); $(uname -r)"
devs=("$sd kernel-iscsi")
[ "$best_mode" != copy ] && devs+=("$(bench_entry best "netublk-$best_mode")")
devs+=("$(bench_entry cp netublk-copy)")
[ -n "$BASE" ] && [ "$best_mode" != copy ] && devs+=("$(bench_entry base netublk-before)")
[ -n "$NQ" ] && devs+=("$(bench_entry nq "netublk-$NQ-queues")")
bench_rounds /share/bench.tsv "$REPS" "$SECS" $SIZE_MB "${devs[@]}"
bench_stop "${names[@]}"
kernel_logout $IQN 3260
