# The VM benchmarks' guest scripts run end to end, one round of one short
# job each, with the options the issue-12 measurements use (an older build
# beside this one, its CPUs and extra options, fio placed): every device a
# script compares must give I/O. Figures are not checked (timings are never
# asserted); that the scripts run is, since a broken one went unnoticed until
# somebody measured with it (bench-vm-qd1 handed perf a shell function).
ROOT=$(cd "$HERE/../../.." && pwd)
. "$ROOT/test/nvmet-lib.sh"
bench_tsv=/share/bench.tsv

# bench_rows_ok TSV COLUMN DEVICE...: each DEVICE names a row (its name in
# COLUMN, its IOPS in the next) with IOPS above 0.
bench_rows_ok() {
	local tsv=$1 col=$2 d
	shift 2
	for d in "$@"; do
		awk -F'\t' -v c="$col" -v d="$d" '$c == d && $(c + 1) > 0 { ok = 1 } END { exit !ok }' \
			"$tsv" || { echo "    no I/O from $d in $tsv:"; sed 's/^/    /' "$tsv"; return 1; }
	done
}

# bench_script NAME ARGS...: scripts/bench-vm-NAME-guest.sh, logged.
bench_script() {
	local name=$1
	shift
	rm -f $bench_tsv /share/qd1.tsv
	# Small devices: earlier tests leave the guest's memory far from empty.
	NU_BENCH_SIZE_MB=64 NU_BENCH_FIO_CPUS=0 NU_BENCH_BASE_CPUS=1 NU_BENCH_JOBS=rr4k-qd1 \
		bash "$ROOT/scripts/bench-vm-$name-guest.sh" "$BUILD" 1 1 "$@" >"$LOGDIR/bench-$name.log" 2>&1 ||
		{
			tail -n 20 "$LOGDIR/bench-$name.log" | sed 's/^/    /'
			# What a script that died mid-way left running or connected.
			pkill -x netublkd && sleep 2
			nvme disconnect-all >/dev/null 2>&1
			return 1
		}
}

mkdir -p "$LOGDIR"
best=netublk-$EXPECT_MODE
[ "$EXPECT_MODE" = copy ] && best=
if bench_script nvme "$BUILD"; then
	check "bench-vm-nvme: every device gave I/O" bench_rows_ok $bench_tsv 3 \
		kernel-nvme-tcp netublk-copy netublk-before $best
else
	fail "bench-vm-nvme runs"
fi
nvmet_clear # each script sets up its own target
if NU_BENCH_BASE_ARGS="--queue-affinity apart" bench_script qd1 50 "$BUILD"; then
	check "bench-vm-qd1: every device gave I/O" bench_rows_ok /share/qd1.tsv 2 kernel-nvme-tcp \
		netublk-default netublk-busy-poll-50us netublk-before-busy-poll-50us-queue-affinity-apart
else
	fail "bench-vm-qd1 runs"
fi
nvmet_clear
# The memory script with the per-thread profile (NU_BENCH_PROFILE).
if NU_BENCH_PROFILE=1 bench_script mem "$BUILD"; then
	check "bench-vm-mem: every device gave I/O" bench_rows_ok $bench_tsv 3 \
		null_blk netublk-zc netublk-uc netublk-zc-before
	check "every row has the machine's busy CPU time" \
		awk -F'\t' 'NR > 1 && !($8 > 0) { bad = 1 } END { exit bad || NR < 2 }' $bench_tsv
	python3 "$ROOT/scripts/bench-summary.py" $bench_tsv null_blk >"$LOGDIR/bench-mem-summary.txt"
	check "the profile puts netublk's queue threads under its device" \
		grep -q '^| rr4k-qd1 | netublk-zc | netublk-q[0-9]* | ' "$LOGDIR/bench-mem-summary.txt"
	check "the profile splits each CPU's busy time" \
		grep -q '^| rr4k-qd1 | null_blk | [0-9]* | [0-9]* | ' "$LOGDIR/bench-mem-summary.txt"
else
	fail "bench-vm-mem runs"
fi
rmmod null_blk 2>/dev/null
if bench_script iscsi "$BUILD"; then
	check "bench-vm-iscsi: every device gave I/O" bench_rows_ok $bench_tsv 3 \
		kernel-iscsi netublk-copy ${best:+$best netublk-before}
else
	fail "bench-vm-iscsi runs"
fi
# The iSCSI script binds LIO's threads to one CPU: all of them again.
lio_cpus=/sys/kernel/config/target/iscsi/cpus_allowed_list
[ -f $lio_cpus ] && cat /sys/devices/system/cpu/online >$lio_cpus
check "no device left" no_ublk_devices
