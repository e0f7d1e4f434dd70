# shellcheck shell=bash
# bench_env: every NU_BENCH_* variable that is set, as NAME='VALUE' words
# for the guest's POSIX sh (vm.sh runs its command line there), so that a
# host script passes them all into the VM without naming each.
bench_env() {
	local v q="'" val
	for v in $(compgen -v NU_BENCH_); do
		val=${!v}
		printf "%s='%s' " "$v" "${val//$q/$q\\$q$q}"
	done
}

# bench_on_fio_cpus CMD...: CMD on the CPUs NU_BENCH_FIO_CPUS if set, so
# that fio runs there for every device, the kernel initiator's too.
bench_on_fio_cpus() { ${NU_BENCH_FIO_CPUS:+taskset -c "$NU_BENCH_FIO_CPUS"} "$@"; }

# Shared by the VM benchmark guests: one fio job on one device, its figures,
# the serving process's CPU time and the whole machine's busy CPU time
# (every CPU, every process and interrupt: what a kernel initiator, which
# has no process of its own, costs shows only there) appended as a row of
# OUT (TSV: rep, job, device, iops, MBps, cpu_s, secs, sys_cpu_s).
# NU_BENCH_PROFILE=1 also samples every CPU during the run (perf record,
# NU_BENCH_PROFILE_HZ times a second, 499 unless set)
# and appends the busy time's split by thread name to OUT.profile.
#   bench_fio OUT REP JOB RW BS QD DEV NAME PID SIZE_MB SECS
bench_fio() {
	local out=$1 rep=$2 job=$3 rw=$4 bs=$5 qd=$6 dev=$7 name=$8 pid=$9 size=${10} secs=${11}
	local c0=0 c1=0 s0 s1 r prof=()
	cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
	# all CPUs' ticks but idle and iowait
	sys_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
	[ -n "${NU_BENCH_PROFILE:-}" ] && prof=(perf record -a -q -F "${NU_BENCH_PROFILE_HZ:-499}" -o /tmp/bench.perf --)
	[ -n "$pid" ] && c0=$(cpu_ticks "$pid")
	s0=$(sys_ticks)
	r=$(bench_on_fio_cpus "${prof[@]}" fio --name="$job" --filename="$dev" --ioengine=io_uring \
		--direct=1 --rw="$rw" --bs="$bs" --iodepth="$qd" --size="${size}M" --runtime="$secs" \
		--time_based --output-format=terse --terse-version=3)
	s1=$(sys_ticks)
	[ -n "$pid" ] && c1=$(cpu_ticks "$pid")
	echo "$r" | awk -F';' -v rep="$rep" -v job="$job" -v dev="$name" -v cpu=$((c1 - c0)) \
		-v secs="$secs" -v sys=$((s1 - s0)) \
		'{printf "%s\t%s\t%s\t%d\t%.1f\t%.2f\t%d\t%.2f\n", rep, job, dev, $8 + $49,
			($7 + $48)/1024, cpu/100, secs, sys/100}' >>"$out"
	tail -n 1 "$out"
	[ -n "${NU_BENCH_PROFILE:-}" ] && bench_profile "$out.profile" "$rep" "$job" "$name"
	return 0
}

# bench_profile OUT REP JOB NAME: /tmp/bench.perf's samples by CPU and
# thread name (kernel threads' numbers folded: kworker/1:2 is kworker), as
# rows of OUT (rep, job, device, cpu, thread, share of all samples in %);
# idle shows as the thread "idle".
bench_profile() {
	perf report -i /tmp/bench.perf --sort cpu,comm --stdio -q 2>/dev/null |
		awk -v rep="$2" -v job="$3" -v dev="$4" '$1 ~ /%$/ {
			c = $3; sub(/[\/:].*/, "", c); sub(/%/, "", $1)
			if (c == "swapper") c = "idle"
			pct[$2 "\t" c] += $1 }
			END { for (k in pct) printf "%s\t%s\t%s\t%s\t%.1f\n", rep, job, dev, k, pct[k] }' >>"$1"
}

# bench_nvmet NQN SIZE_MB: nvmet serving one namespace of 4096-byte blocks on
# 127.0.0.1:4420, the kernel's nvme-tcp connected to it, the namespace
# written once (precondition); its device in kdev.
bench_nvmet() {
	. "$(dirname "${BASH_SOURCE[0]}")/../test/nvmet-lib.sh"
	nvmet_load
	nvmet_subsys "$1"
	nvmet_ns "$1" 1 "$2" 4096
	nvmet_port 1 4420
	nvmet_link "$1" 1
	nvme_kernel_connect "$1" 4420
	kdev=${KDEVS%% *}
	dd if=/dev/urandom of="$kdev" bs=1M count="$2" oflag=direct status=none
}

# bench_netublkd NAME BIN ARGS...: a netublkd (BIN) in the background with
# its own ready file, control socket and by-id directory, so that several
# run side by side; its PID in BENCH_PID[NAME]. bench_ready NAME...: waits
# for theirs; then bench_dev NAME and bench_mode NAME say its device and
# data mode, bench_entry NAME LABEL the "DEV LABEL PID" that bench_rounds takes.
# BENCH_CPUS, if set for the call, runs it on those CPUs (taskset).
declare -A BENCH_PID
bench_netublkd() {
	local name=$1 bin=$2
	shift 2
	rm -f "/tmp/r-$name"
	${BENCH_CPUS:+taskset -c "$BENCH_CPUS"} "$bin" "$@" --ready-file "/tmp/r-$name" --control "/tmp/$name.sock" \
		--by-id "/tmp/by-id-$name" --log-level warn &
	BENCH_PID[$name]=$!
}
bench_ready() {
	local n ok
	for _ in $(seq 300); do
		ok=1
		for n in "$@"; do [ -f "/tmp/r-$n" ] || ok=0; done
		[ $ok = 1 ] && return 0
		sleep 0.1
	done
	echo "bench: netublkd $* not ready" >&2
	return 1
}
bench_dev() { awk '{print $1}' "/tmp/r-$1"; }
bench_mode() { awk '{print $2}' "/tmp/r-$1"; }
bench_entry() { echo "$(bench_dev "$1") $2 ${BENCH_PID[$1]}"; }
bench_stop() { # bench_stop NAME...: SIGTERM, wait
	local n pids=()
	for n in "$@"; do pids+=("${BENCH_PID[$n]}"); done
	kill -TERM "${pids[@]}"
	wait "${pids[@]}"
}

# The standard jobs (4k random read QD32, 128k and 1M sequential reads at
# QD16 and QD4, 4k QD1, 4k random write QD32),
# each repetition running every device back to back, into OUT (with header);
# NU_BENCH_JOBS, if set, names the jobs to run.
#   bench_rounds OUT REPS SECS SIZE_MB "DEV NAME PID" ...   (PID "" for a kernel initiator)
bench_rounds() {
	local out=$1 reps=$2 secs=$3 size=$4 rep job d devs
	shift 4
	devs=("$@")
	echo -e "rep\tjob\tdevice\tiops\tMBps\tcpu_s\tsecs\tsys_cpu_s" >"$out"
	for rep in $(seq 1 "$reps"); do
		for job in "rr4k-qd32 randread 4k 32" "seq128k-qd16 read 128k 16" \
			"seq1m-qd4 read 1M 4" "rr4k-qd1 randread 4k 1" "rw4k-qd32 randwrite 4k 32"; do
			# NU_BENCH_JOBS="rr4k-qd32 ...": only those
			[ -z "${NU_BENCH_JOBS:-}" ] || [[ " $NU_BENCH_JOBS " == *" ${job%% *} "* ]] ||
				continue
			for d in "${devs[@]}"; do
				# shellcheck disable=SC2086
				set -- $job $d
				bench_fio "$out" "$rep" "$1" "$2" "$3" "$4" "$5" "$6" "${7:-}" "$size" "$secs"
			done
		done
	done
}
