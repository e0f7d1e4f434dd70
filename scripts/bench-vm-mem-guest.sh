#!/bin/bash
# Guest side of bench-vm-mem.sh.
set -euo pipefail
B=$1 REPS=$2 SECS=$3 BASE=${4:-}
SIZE_MB=${NU_BENCH_SIZE_MB:-256} # the device size the jobs run over
modprobe ublk_drv
modprobe null_blk nr_devices=1 memory_backed=1 gb=1 bs=512 submit_queues=2 queue_mode=2
. "$(dirname "$0")/bench-lib.sh"
MEM=(--mem "${SIZE_MB}M" --queues 2 --depth 64 --backend-depth 64)
bench_netublkd zc "$B/netublkd" "${MEM[@]}"
bench_netublkd uc "$B/netublkd" "${MEM[@]}" --data-mode user-copy
names=(zc uc)
if [ -n "$BASE" ]; then # the other build, in its default mode, as netublk-zc-before
	bench_netublkd before "$BASE/netublkd" "${MEM[@]}"
	names+=(before)
fi
bench_ready "${names[@]}"
sleep 1
devs=("/dev/nullb0 null_blk" "$(bench_entry zc netublk-zc)" "$(bench_entry uc netublk-uc)")
[ -n "$BASE" ] && devs+=("$(bench_entry before netublk-zc-before)")
# The kernel selftests' ublk server, as a reference for the engine's cost per
# request: its loop target on a tmpfs file with the same automatic buffer
# registration, and its null target (no data moved). Ids 100 and 101.
if [ -n "${NU_BENCH_KUBLK:-}" ]; then
	truncate -s ${SIZE_MB}M /dev/shm/kublk-back # written below
	"$NU_BENCH_KUBLK" add -t loop -q 2 -d 64 -n 100 --auto_zc /dev/shm/kublk-back
	"$NU_BENCH_KUBLK" add -t null -q 2 -d 64 -n 101 --auto_zc
	for _ in $(seq 50); do [ -b /dev/ublkb100 ] && [ -b /dev/ublkb101 ] && break; sleep 0.1; done
	for n in 100 101; do kpid[n]=$(pgrep -f "add .* -n $n " | head -1); done
	devs+=("/dev/ublkb100 kublk-loop ${kpid[100]}" "/dev/ublkb101 kublk-null ${kpid[101]}")
fi
echo "devices: ${devs[*]}; modes: zc $(bench_mode zc), uc $(bench_mode uc)${BASE:+, before $(bench_mode before)}"
for d in "${devs[@]}"; do # precondition: no reads of holes
	set -- $d
	dd if=/dev/urandom of="$1" bs=1M count=$SIZE_MB oflag=direct status=none
done
# The memory backend's two standard jobs unless NU_BENCH_JOBS names others.
NU_BENCH_JOBS=${NU_BENCH_JOBS:-rr4k-qd32 seq128k-qd16} \
	bench_rounds /share/bench.tsv "$REPS" "$SECS" $SIZE_MB "${devs[@]}"
bench_stop "${names[@]}"
[ -z "${NU_BENCH_KUBLK:-}" ] || "$NU_BENCH_KUBLK" del -a
