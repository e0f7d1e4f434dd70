#!/bin/bash
# Guest side of bench-vm-nvme.sh.
set -euo pipefail
B=$1 REPS=$2 SECS=$3 BASE=${4:-}
SIZE_MB=512
modprobe ublk_drv
. "$(dirname "$0")/../test/nvmet-lib.sh"
nvmet_load
NQN=nqn.2026-11.org.netublk:bench
nvmet_subsys $NQN
nvmet_ns $NQN 1 $SIZE_MB 4096
nvmet_port 1 4420
nvmet_link $NQN 1
nvme_kernel_connect $NQN 4420
kdev=${KDEVS%% *}
dd if=/dev/urandom of=$kdev bs=1M count=$SIZE_MB oflag=direct status=none # precondition

SPEC=address=127.0.0.1:4420,subsystem=$NQN
"$B/netublkd" --nvme "$SPEC,host_nqn=nqn.2026-11.org.netublk:bench-copy" --queues 2 \
	--data-mode copy --ready-file /tmp/r-cp --log-level warn &
cp_pid=$!
"$B/netublkd" --nvme "$SPEC,host_nqn=nqn.2026-11.org.netublk:bench-zc" --queues 2 \
	--ready-file /tmp/r-zc --log-level warn --control /tmp/zc.sock --by-id /tmp/by-id-zc &
zc_pid=$!
before=()
if [ -n "$BASE" ]; then
	"$BASE/netublkd" --nvme "$SPEC,host_nqn=nqn.2026-11.org.netublk:bench-base" --queues 2 \
		--ready-file /tmp/r-base --log-level warn --control /tmp/base.sock --by-id /tmp/by-id-base &
	base_pid=$!
	for _ in $(seq 300); do [ -f /tmp/r-base ] && break; sleep 0.1; done
	before=("$(awk '{print $1}' /tmp/r-base) netublk-before $base_pid")
fi
for _ in $(seq 300); do [ -f /tmp/r-zc ] && [ -f /tmp/r-cp ] && break; sleep 0.1; done
cp=$(awk '{print $1}' /tmp/r-cp); zc=$(awk '{print $1}' /tmp/r-zc)
zc_mode=$(awk '{print $2}' /tmp/r-zc)
sleep 1
echo "devices: kernel=$kdev netublk-copy=$cp netublk-$zc_mode=$zc; $(uname -r)"
. "$(dirname "$0")/bench-lib.sh"
bench_rounds /share/bench.tsv "$REPS" "$SECS" $SIZE_MB "$kdev kernel-nvme-tcp" "$cp netublk-copy $cp_pid" "$zc netublk-$zc_mode $zc_pid" "${before[@]}"
kill -TERM $zc_pid $cp_pid ${base_pid:-}; wait $zc_pid $cp_pid ${base_pid:-}
nvme_kernel_disconnect $NQN
