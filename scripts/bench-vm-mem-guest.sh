#!/bin/bash
# Guest side of bench-vm-mem.sh.
set -euo pipefail
B=$1 REPS=$2 SECS=$3
SIZE_MB=256
modprobe ublk_drv
modprobe null_blk nr_devices=1 memory_backed=1 gb=1 bs=512 submit_queues=2 queue_mode=2
"$B/netublkd" --mem ${SIZE_MB}M --queues 2 --depth 64 --backend-depth 64 \
	--ready-file /tmp/r-zc --log-level warn &
zc_pid=$!
"$B/netublkd" --mem ${SIZE_MB}M --queues 2 --depth 64 --backend-depth 64 \
	--data-mode user-copy --ready-file /tmp/r-uc --log-level warn \
	--control /tmp/uc.sock --by-id /tmp/by-id-uc &
uc_pid=$!
for _ in $(seq 300); do [ -f /tmp/r-zc ] && [ -f /tmp/r-uc ] && break; sleep 0.1; done
zc=$(awk '{print $1}' /tmp/r-zc); uc=$(awk '{print $1}' /tmp/r-uc)
sleep 1
echo "devices: null_blk=/dev/nullb0 netublk-zc=$zc ($(awk '{print $2}' /tmp/r-zc)) netublk-uc=$uc ($(awk '{print $2}' /tmp/r-uc))"
for d in /dev/nullb0 "$zc" "$uc"; do # precondition: no reads of holes
	dd if=/dev/urandom of="$d" bs=1M count=$SIZE_MB oflag=direct status=none
done
. "$(dirname "$0")/bench-lib.sh"
out=/share/bench.tsv
echo -e "rep\tjob\tdevice\tiops\tMBps\tcpu_s\tsecs" >$out
for rep in $(seq 1 "$REPS"); do
	for job in "rr4k randread 4k 32" "seq128k read 128k 16"; do
		set -- $job
		bench_fio $out $rep $1 $2 $3 $4 /dev/nullb0 null_blk "" $SIZE_MB $SECS
		bench_fio $out $rep $1 $2 $3 $4 "$zc" netublk-zc $zc_pid $SIZE_MB $SECS
		bench_fio $out $rep $1 $2 $3 $4 "$uc" netublk-uc $uc_pid $SIZE_MB $SECS
	done
done
kill -TERM $zc_pid $uc_pid; wait
