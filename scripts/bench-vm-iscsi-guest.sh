#!/bin/bash
# Guest side of bench-vm-iscsi.sh.
set -euo pipefail
B=$1 REPS=$2 SECS=$3
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
"$B/netublkd" --iscsi "$SPEC" --queues 2 --ready-file /tmp/r-uc --log-level warn &
uc_pid=$!
"$B/netublkd" --iscsi "$SPEC" --queues 2 --data-mode copy --ready-file /tmp/r-cp --log-level warn \
	--control /tmp/cp.sock --by-id /tmp/by-id-cp &
cp_pid=$!
for _ in $(seq 300); do [ -f /tmp/r-uc ] && [ -f /tmp/r-cp ] && break; sleep 0.1; done
uc=$(awk '{print $1}' /tmp/r-uc); cp=$(awk '{print $1}' /tmp/r-cp)
sleep 1
echo "devices: kernel=$sd netublk-user-copy=$uc netublk-copy=$cp; $(uname -r)"
. "$(dirname "$0")/bench-lib.sh"
bench_rounds /share/bench.tsv "$REPS" "$SECS" $SIZE_MB "$sd kernel-iscsi" "$uc netublk-user-copy $uc_pid" "$cp netublk-copy $cp_pid"
kill -TERM $uc_pid $cp_pid; wait $uc_pid $cp_pid
kernel_logout $IQN 3260
