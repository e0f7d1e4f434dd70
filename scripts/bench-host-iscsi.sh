#!/bin/bash
# BENCHMARK (not a test): netublk-perf vs libiscsi's iscsi-perf against the
# same tgtd LUN on 127.0.0.1, interleaved repetitions, medians of ratios.
#   scripts/bench-host-iscsi.sh [REPS] [SECONDS]
# NU_BENCH_BASE=DIR/netublk-perf adds that (older) build's netublk-perf,
# interleaved with this one: a before/after of the engine in one run.
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${1:-3} SECS=${2:-8}
scripts/setup.sh >/dev/null
scripts/build.sh >/dev/null
. test/tgt-lib.sh
tgt_start
trap tgt_stop EXIT
IQN=iqn.2026-11.org.netublk:bench
tgt_target 1 $IQN
tgt_lun 1 1 1024
# Precondition: real data everywhere, or reads of holes are free.
head -c 1G /dev/urandom >"$TGT_DIR/t1-l1.img"
URL=iscsi://127.0.0.1:$TGT_PORT/$IQN/1
SPEC=portal=127.0.0.1:$TGT_PORT,target=$IQN
out=$(mktemp /tmp/bench-iscsi.XXXXXX.tsv)
tmp=$(mktemp)
echo -e "rep\tjob\tdevice\tiops\tMBps\tcpu_s\tsecs" >"$out"

iscsi_perf() { # iscsi_perf JOB BLOCKS QD [-r]
	local r iops cpu
	# user+system CPU of iscsi-perf alone, from bash's time keyword.
	cpu=$( { TIMEFORMAT='%U %S'; time timeout -s INT "$SECS" iscsi-perf -i iqn.2026-11.org.netublk:bench-ref \
		-m "$3" -b "$2" $4 "$URL" >"$tmp" 2>&1; } 2>&1 | awk '{ print $1 + $2 }' || true)
	r=$(tr '\r' '\n' <"$tmp" | grep -o 'iops average [0-9]*' | tail -1 || true)
	iops=${r##* }
	awk -v rep=$rep -v job=$1 -v iops=${iops:-0} -v blocks=$2 -v secs=$SECS -v cpu=${cpu:-0} \
		'BEGIN { printf "%s\t%s\tiscsi-perf\t%d\t%.1f\t%.2f\t%d\n", rep, job, iops, iops * blocks * 512 / 1e6, cpu, secs }'
}
netublk_perf() { # netublk_perf JOB BS QD RW QUEUES [BINARY NAME]
	local r
	r=$("${6:-build/netublk-perf}" --iscsi "$SPEC" --bs "$2" --qd "$3" --rw "$4" --queues "$5" --time "$SECS")
	echo "$r" | awk -v rep=$rep -v job=$1 -v dev="${7:-netublk-perf}-q$5" -v secs=$SECS '
		/^IOPS/ { iops = $2; mb = $4 } /^cpu/ { cpu = $2 }
		END { printf "%s\t%s\t%s\t%d\t%.1f\t%.2f\t%d\n", rep, job, dev, iops, mb, cpu, secs }'
}
for rep in $(seq 1 "$REPS"); do
	iscsi_perf rr4k-qd32 8 32 -r | tee -a "$out"
	netublk_perf rr4k-qd32 4k 32 randread 1 | tee -a "$out"
	[ -z "${NU_BENCH_BASE:-}" ] ||
		netublk_perf rr4k-qd32 4k 32 randread 1 "$NU_BENCH_BASE" netublk-perf-base | tee -a "$out"
	netublk_perf rr4k-qd32 4k 16 randread 2 | tee -a "$out" # 2 sessions x 16 = 32 in flight
	iscsi_perf seq128k-qd16 256 16 "" | tee -a "$out"
	netublk_perf seq128k-qd16 128k 16 read 1 | tee -a "$out"
	[ -z "${NU_BENCH_BASE:-}" ] ||
		netublk_perf seq128k-qd16 128k 16 read 1 "$NU_BENCH_BASE" netublk-perf-base | tee -a "$out"
done
python3 scripts/bench-summary.py "$out" iscsi-perf
echo "raw: $out"
