#!/bin/bash
# Guest side of bench-vm-nvme.sh.
set -euo pipefail
B=$1 REPS=$2 SECS=$3 BASE=${4:-}
SIZE_MB=${NU_BENCH_SIZE_MB:-512} # the device size the jobs run over
modprobe ublk_drv
. "$(dirname "$0")/bench-lib.sh"
NQN=nqn.2026-11.org.netublk:bench
bench_nvmet $NQN $SIZE_MB

SPEC=address=127.0.0.1:4420,subsystem=$NQN
# Each its own host NQN: separate controllers of the one subsystem.
names=(cp zc)
bench_netublkd cp "$B/netublkd" --nvme "$SPEC,host_nqn=nqn.2026-11.org.netublk:bench-copy" \
	--queues 2 --data-mode copy ${NU_BENCH_ARGS:-}
bench_netublkd zc "$B/netublkd" --nvme "$SPEC,host_nqn=nqn.2026-11.org.netublk:bench-zc" --queues 2 \
	${NU_BENCH_ARGS:-}
[ -n "$BASE" ] && names+=(base) &&
	BENCH_CPUS=${NU_BENCH_BASE_CPUS:-} bench_netublkd base "$BASE/netublkd" --nvme "$SPEC,host_nqn=nqn.2026-11.org.netublk:bench-base" \
		--queues 2 ${NU_BENCH_BASE_ARGS:-}
bench_ready "${names[@]}"
zc_mode=$(bench_mode zc)
sleep 1
echo "devices: kernel=$kdev netublk-copy=$(bench_dev cp) netublk-$zc_mode=$(bench_dev zc); $(uname -r)"
devs=("$kdev kernel-nvme-tcp" "$(bench_entry cp netublk-copy)" "$(bench_entry zc "netublk-$zc_mode")")
[ -n "$BASE" ] && devs+=("$(bench_entry base netublk-before)")
bench_rounds /share/bench.tsv "$REPS" "$SECS" $SIZE_MB "${devs[@]}"
bench_stop "${names[@]}"
nvme_kernel_disconnect $NQN
