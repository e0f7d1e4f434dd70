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
	--data-mode user-copy --ready-file /tmp/r-uc --log-level warn &
uc_pid=$!
for _ in $(seq 300); do [ -f /tmp/r-zc ] && [ -f /tmp/r-uc ] && break; sleep 0.1; done
zc=$(awk '{print $1}' /tmp/r-zc); uc=$(awk '{print $1}' /tmp/r-uc)
sleep 1
echo "devices: null_blk=/dev/nullb0 netublk-zc=$zc ($(awk '{print $2}' /tmp/r-zc)) netublk-uc=$uc ($(awk '{print $2}' /tmp/r-uc))"
for d in /dev/nullb0 "$zc" "$uc"; do # precondition: no reads of holes
	dd if=/dev/urandom of="$d" bs=1M count=$SIZE_MB oflag=direct status=none
done
cpu_ticks() { awk '{print $14 + $15}' /proc/$1/stat; }
out=/share/bench.tsv
echo -e "rep\tjob\tdevice\tiops\tMBps\tcpu_s\tsecs" >$out
for rep in $(seq 1 "$REPS"); do
	for job in "rr4k randread 4k 32" "seq128k read 128k 16"; do
		set -- $job
		for dev in /dev/nullb0 "$zc" "$uc"; do
			pid=; [ "$dev" = "$zc" ] && pid=$zc_pid; [ "$dev" = "$uc" ] && pid=$uc_pid
			c0=0; [ -n "$pid" ] && c0=$(cpu_ticks $pid)
			r=$(fio --name=$1 --filename="$dev" --ioengine=io_uring --direct=1 --rw=$2 \
				--bs=$3 --iodepth=$4 --size=${SIZE_MB}M --runtime=$SECS --time_based \
				--output-format=terse --terse-version=3)
			c1=0; [ -n "$pid" ] && c1=$(cpu_ticks $pid)
			name=null_blk; [ "$dev" = "$zc" ] && name=netublk-zc; [ "$dev" = "$uc" ] && name=netublk-uc
			echo "$r" | awk -F';' -v rep=$rep -v job=$1 -v dev=$name -v cpu=$((c1 - c0)) -v secs=$SECS \
				'{printf "%s\t%s\t%s\t%d\t%.1f\t%.2f\t%d\n", rep, job, dev, $8, $7/1024, cpu/100, secs}' >>$out
			tail -n 1 $out
		done
	done
done
kill -TERM $zc_pid $uc_pid; wait
