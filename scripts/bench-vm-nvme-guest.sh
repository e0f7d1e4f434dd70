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
. "$(dirname "$0")/bench-lib.sh"
# Each its own host NQN: separate controllers of the one subsystem.
names=(cp zc)
bench_netublkd cp "$B/netublkd" --nvme "$SPEC,host_nqn=nqn.2026-11.org.netublk:bench-copy" \
	--queues 2 --data-mode copy
bench_netublkd zc "$B/netublkd" --nvme "$SPEC,host_nqn=nqn.2026-11.org.netublk:bench-zc" --queues 2
[ -n "$BASE" ] && names+=(base) &&
	bench_netublkd base "$BASE/netublkd" --nvme "$SPEC,host_nqn=nqn.2026-11.org.netublk:bench-base" \
		--queues 2
bench_ready "${names[@]}"
zc_mode=$(bench_mode zc)
sleep 1
echo "devices: kernel=$kdev netublk-copy=$(bench_dev cp) netublk-$zc_mode=$(bench_dev zc); $(uname -r)"
devs=("$kdev kernel-nvme-tcp" "$(bench_entry cp netublk-copy)" "$(bench_entry zc "netublk-$zc_mode")")
[ -n "$BASE" ] && devs+=("$(bench_entry base netublk-before)")
bench_rounds /share/bench.tsv "$REPS" "$SECS" $SIZE_MB "${devs[@]}"
bench_stop "${names[@]}"
nvme_kernel_disconnect $NQN
