#!/bin/bash
# Guest side of bench-vm-qd1.sh.
set -euo pipefail
B=$1 REPS=$2 SECS=$3 POLLS=$4 BASE=${5:-}
SIZE_MB=${NU_BENCH_SIZE_MB:-256} # the device size the jobs run over
modprobe ublk_drv
. "$(dirname "$0")/bench-lib.sh"
NQN=nqn.2026-12.org.netublk:qd1
bench_nvmet $NQN $SIZE_MB
SPEC=address=127.0.0.1:4420,subsystem=$NQN
bench_netublkd any "$B/netublkd" --nvme "$SPEC,host_nqn=nqn.2026-12.org.netublk:qd1-any" --queues 2
names=(any) labels=(netublk-default)
for us in $POLLS; do
	bench_netublkd "poll$us" "$B/netublkd" \
		--nvme "$SPEC,host_nqn=nqn.2026-12.org.netublk:qd1-poll$us" --queues 2 --busy-poll "$us"
	names+=("poll$us") labels+=("netublk-busy-poll-${us}us")
done
# The older build, polling as long as the last of POLLS.
if [ -n "$BASE" ]; then
	BENCH_CPUS=${NU_BENCH_BASE_CPUS:-} bench_netublkd base "$BASE/netublkd" \
		--nvme "$SPEC,host_nqn=nqn.2026-12.org.netublk:qd1-base" --queues 2 --busy-poll "$us" ${NU_BENCH_BASE_ARGS:-}
	# The options in the label, one word: "--queue-affinity apart" -> "-queue-affinity-apart".
	names+=(base) labels+=("netublk-before-busy-poll-${us}us$(echo -n "${NU_BENCH_BASE_ARGS:-}" | tr -s ' -' -)")
fi
bench_ready "${names[@]}"
devs=("$kdev kernel-nvme-tcp")
for i in "${!names[@]}"; do devs+=("$(bench_entry "${names[$i]}" "${labels[$i]}")"); done
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
	for d in "${devs[@]}"; do
		set -- $d
		t0=$(ticks "${3:-}")
		# perf, not fio, under bench_on_fio_cpus: perf runs programs, not shell
		# functions, and fio inherits its CPUs (-a counts every CPU anyway).
		bench_on_fio_cpus perf stat -a -x, -e context-switches,cpu-migrations -o /tmp/qd1.perf -- \
			fio --name=qd1 --filename="$1" --ioengine=io_uring --direct=1 --rw=randread \
			--bs=4k --iodepth=1 --size=${SIZE_MB}M --runtime="$SECS" --time_based \
			--output-format=terse --terse-version=3 >/tmp/qd1.fio
		# Terse v3 field 6 is the KiB read (before 2026-12-05 this took it
		# for the I/O count: IOPS 4x too high, per-I/O figures 4x too low).
		ios=$(awk -F';' '{print $6 / 4}' /tmp/qd1.fio) # 4 KiB per read
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
bench_stop "${names[@]}"
nvme_kernel_disconnect $NQN
