#!/bin/bash
# Guest side of bench-vm-qd1.sh.
set -euo pipefail
B=$1 REPS=$2 SECS=$3
SIZE_MB=256
modprobe ublk_drv
. "$(dirname "$0")/bench-lib.sh"
NQN=nqn.2026-12.org.netublk:qd1
bench_nvmet $NQN $SIZE_MB
SPEC=address=127.0.0.1:4420,subsystem=$NQN
bench_netublkd any "$B/netublkd" --nvme "$SPEC,host_nqn=nqn.2026-12.org.netublk:qd1-any" --queues 2
bench_netublkd blkmq "$B/netublkd" --nvme "$SPEC,host_nqn=nqn.2026-12.org.netublk:qd1-blkmq" \
	--queues 2 --queue-affinity blk-mq
bench_ready any blkmq
# Held open for the whole run: the first perf session patches the kernel's
# text (static keys), which under TCG has given int3 oopses mid-run; with
# this one open, the per-run sessions below change nothing.
perf stat -a -e context-switches,cpu-migrations -o /dev/null -- sleep 100000 &
hold=$!
sleep 1
out=/share/qd1.tsv
echo -e "rep\tdevice\tiops\tcs_per_io\tmigrations_per_io" >$out
for rep in $(seq 1 "$REPS"); do
	for d in "$kdev kernel-nvme-tcp" "$(bench_dev any) netublk-any" "$(bench_dev blkmq) netublk-blk-mq"; do
		set -- $d
		perf stat -a -x, -e context-switches,cpu-migrations -o /tmp/qd1.perf -- \
			fio --name=qd1 --filename="$1" --ioengine=io_uring --direct=1 --rw=randread \
			--bs=4k --iodepth=1 --size=${SIZE_MB}M --runtime="$SECS" --time_based \
			--output-format=terse --terse-version=3 >/tmp/qd1.fio
		ios=$(awk -F';' '{print $6}' /tmp/qd1.fio) # total read I/Os
		awk -F, -v rep="$rep" -v dev="$2" -v ios="$ios" -v secs="$SECS" '
			$3 == "context-switches" { cs = $1 } $3 == "cpu-migrations" { mig = $1 }
			END { printf "%s\t%s\t%.0f\t%.2f\t%.3f\n", rep, dev, ios / secs, cs / ios, mig / ios }' \
			/tmp/qd1.perf | tee -a $out
	done
done
kill $hold 2>/dev/null || true
bench_stop any blkmq
nvme_kernel_disconnect $NQN
