#!/bin/bash
# Guest side of bench-vm-iscsi.sh.
set -euo pipefail
B=$1 REPS=$2 SECS=$3 BASE=${4:-}
SIZE_MB=512
modprobe ublk_drv
. "$(dirname "$0")/../test/lio-lib.sh"
lio_load
IQN=iqn.2026-11.org.netublk:bench
lio_target $IQN 3260
lio_ramdisk_lun $IQN $SIZE_MB
lio_open $IQN
lio_enable $IQN
mkdir -p /etc/iscsi
echo "InitiatorName=iqn.2026-11.org.netublk:bench-kernel" >/etc/iscsi/initiatorname.iscsi
kernel_login $IQN 3260
sd=$KDEV
dd if=/dev/urandom of=$sd bs=1M count=$SIZE_MB oflag=direct status=none # precondition

SPEC=portal=127.0.0.1:3260,target=$IQN
# The best mode (zero copy on Linux 7.2) and copy, side by side.
"$B/netublkd" --iscsi "$SPEC" --queues 2 --ready-file /tmp/r-best --log-level warn &
best_pid=$!
"$B/netublkd" --iscsi "$SPEC" --queues 2 --data-mode copy --ready-file /tmp/r-cp --log-level warn \
	--control /tmp/cp.sock --by-id /tmp/by-id-cp &
cp_pid=$!
before=()
if [ -n "$BASE" ]; then
	"$BASE/netublkd" --iscsi "$SPEC" --queues 2 --ready-file /tmp/r-base --log-level warn \
		--control /tmp/base.sock --by-id /tmp/by-id-base &
	base_pid=$!
	for _ in $(seq 300); do [ -f /tmp/r-base ] && break; sleep 0.1; done
	before=("$(awk '{print $1}' /tmp/r-base) netublk-before $base_pid")
fi
for _ in $(seq 300); do [ -f /tmp/r-best ] && [ -f /tmp/r-cp ] && break; sleep 0.1; done
best=$(awk '{print $1}' /tmp/r-best); best_mode=$(awk '{print $2}' /tmp/r-best)
cp=$(awk '{print $1}' /tmp/r-cp)
sleep 1
echo "devices: kernel=$sd netublk-$best_mode=$best netublk-copy=$cp; $(uname -r)"
. "$(dirname "$0")/bench-lib.sh"
if [ "$best_mode" = copy ]; then
	bench_rounds /share/bench.tsv "$REPS" "$SECS" $SIZE_MB "$sd kernel-iscsi" "$cp netublk-copy $cp_pid"
else
	bench_rounds /share/bench.tsv "$REPS" "$SECS" $SIZE_MB "$sd kernel-iscsi" \
		"$best netublk-$best_mode $best_pid" "$cp netublk-copy $cp_pid" "${before[@]}"
fi
kill -TERM $best_pid $cp_pid ${base_pid:-}; wait $best_pid $cp_pid ${base_pid:-}
kernel_logout $IQN 3260
