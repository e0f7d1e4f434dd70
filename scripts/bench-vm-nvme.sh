#!/bin/bash
# BENCHMARK (not a test): in one VM run, the same nvmet-tcp namespace read
# through the kernel's NVMe/TCP initiator (/dev/nvmeXnY) and through
# netublkd (/dev/ublkbN, copy mode and the best mode: zero copy on 7.2),
# fio io_uring O_DIRECT,
# interleaved repetitions, medians of ratios.
#   scripts/bench-vm-nvme.sh [REPS] [SECONDS] [KERNEL]
# NU_BENCH_JOBS="rr4k-qd32 ..." runs only those jobs.
# NU_BENCH_PROFILE=1 samples every run (perf record -a, NU_BENCH_PROFILE_HZ
# times a second, 499 unless set) and adds its
# split by thread and by CPU to the summary (scripts/bench-lib.sh).
# NU_BENCH_BASE=DIR adds DIR/netublkd (another build, e.g. the last
# release's) as one more device, netublk-before, in the same rounds;
# NU_BENCH_BASE_ARGS are more options for it, NU_BENCH_ARGS for
# this build's two devices (e.g. "--batch-io off");
# NU_BENCH_BASE_CPUS the CPUs it runs on (taskset), NU_BENCH_FIO_CPUS
# those of fio for every device.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
scripts/build.sh
. scripts/bench-lib.sh
share=$(mktemp -d /tmp/netublk-bench-nvme.XXXXXX)
NU_VM_SHARE=$share test/vm/vm.sh --kernel "${3:-sid}" --timeout 3000 \
	"$(bench_env)bash $PWD/scripts/bench-vm-nvme-guest.sh $PWD/build ${1:-5} ${2:-8} ${NU_BENCH_BASE:-}"
python3 scripts/bench-summary.py "$share/bench.tsv" kernel-nvme-tcp
echo "raw results: $share/bench.tsv"
