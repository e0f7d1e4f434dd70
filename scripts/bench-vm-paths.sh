#!/bin/bash
# BENCHMARK (not a test): in one VM run, one nvmet-tcp namespace read
# through netublkd over one path and over two paths (two ports, round-robin
# and queue-depth), fio io_uring O_DIRECT, interleaved repetitions, medians
# of ratios against the one path.
#   scripts/bench-vm-paths.sh [REPS] [SECONDS] [KERNEL]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
scripts/build.sh
. scripts/bench-lib.sh
share=$(mktemp -d /tmp/netublk-bench-paths.XXXXXX)
NU_VM_SHARE=$share test/vm/vm.sh --kernel "${3:-sid}" --timeout 3000 \
	"$(bench_env)bash $PWD/scripts/bench-vm-paths-guest.sh $PWD/build ${1:-5} ${2:-8}"
python3 scripts/bench-summary.py "$share/bench.tsv" one-path
echo "raw results: $share/bench.tsv"
