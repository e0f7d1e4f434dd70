#!/bin/bash
# BENCHMARK (not a test): netublk's memory device vs the kernel's null_blk
# (memory_backed=1) in one VM run, fio io_uring O_DIRECT, interleaved
# repetitions, medians. See BENCHMARKS.md for the figures and method.
#   scripts/bench-vm-mem.sh [REPS] [SECONDS] [KERNEL]
# NU_BENCH_BASE=DIR adds DIR/netublkd (another build) in its default mode
# as one more device, netublk-zc-before, in the same rounds.
# NU_BENCH_KUBLK=PATH adds the kernel selftests' ublk server (kublk, from
# tools/testing/selftests/ublk of the guest's kernel, built by you; PATH
# must be under /work, which the VM sees) as kublk-loop and kublk-null.
# NU_BENCH_PROFILE=1 samples every run (perf record -a, NU_BENCH_PROFILE_HZ
# times a second, 499 unless set) and adds its
# split by thread and by CPU to the summary (scripts/bench-lib.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
scripts/build.sh
. scripts/bench-lib.sh
share=$(mktemp -d /tmp/netublk-bench.XXXXXX)
NU_VM_SHARE=$share test/vm/vm.sh --kernel "${3:-sid}" --timeout 3000 \
	"$(bench_env)bash $PWD/scripts/bench-vm-mem-guest.sh $PWD/build ${1:-5} ${2:-8} ${NU_BENCH_BASE:-}"
python3 scripts/bench-summary.py "$share/bench.tsv" null_blk
echo "raw results: $share/bench.tsv"
