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
bench_netublkd poll50 "$B/netublkd" --nvme "$SPEC,host_nqn=nqn.2026-12.org.netublk:qd1-poll50" \
	--queues 2 --busy-poll 50
bench_netublkd poll200 "$B/netublkd" --nvme "$SPEC,host_nqn=nqn.2026-12.org.netublk:qd1-poll200" \
	--queues 2 --busy-poll 200
bench_ready any poll50 poll200
# Held open for the whole run: the first perf session patches the kernel's
# text (static keys), which under TCG has given int3 oopses mid-run; with
# this one open, the per-run sessions below change nothing.
perf stat -a -e context-switches,cpu-migrations -o /dev/null -- sleep 100000 &
hold=$!
sleep 1
out=/share/qd1.tsv
echo -e "rep\tdevice\tiops\tcs_per_io\tmigrations_per_io\tcpu_us_per_io" >$out
# utime + stime of a netublkd, in clock ticks (0 for the kernel's initiator).
ticks() { [ -n "$1" ] && awk '{print $14 + $15}' "/proc/$1/stat" || echo 0; }
for rep in $(seq 1 "$REPS"); do
	for d in "$kdev kernel-nvme-tcp" "$(bench_entry any netublk-default)" \
		"$(bench_entry poll50 netublk-busy-poll-50us)" "$(bench_entry poll200 netublk-busy-poll-200us)"; do
		set -- $d
		t0=$(ticks "${3:-}")
		perf stat -a -x, -e context-switches,cpu-migrations -o /tmp/qd1.perf -- \
			fio --name=qd1 --filename="$1" --ioengine=io_uring --direct=1 --rw=randread \
			--bs=4k --iodepth=1 --size=${SIZE_MB}M --runtime="$SECS" --time_based \
			--output-format=terse --terse-version=3 >/tmp/qd1.fio
		ios=$(awk -F';' '{print $6}' /tmp/qd1.fio) # total read I/Os
		ticks=$(($(ticks "${3:-}") - t0))
		awk -F, -v rep="$rep" -v dev="$2" -v ios="$ios" -v secs="$SECS" -v t="$ticks" \
			-v hz="$(getconf CLK_TCK)" '
			$3 == "context-switches" { cs = $1 } $3 == "cpu-migrations" { mig = $1 }
			END { printf "%s\t%s\t%.0f\t%.2f\t%.3f\t%.1f\n", rep, dev, ios / secs, cs / ios,
				mig / ios, t / hz / ios * 1e6 }' \
			/tmp/qd1.perf | tee -a $out
	done
done
kill $hold 2>/dev/null || true
bench_stop any poll50 poll200
nvme_kernel_disconnect $NQN
