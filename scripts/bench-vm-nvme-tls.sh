#!/bin/bash
# BENCHMARK (not a test): NVMe/TCP over TLS 1.3, in one VM run: the same
# nvmet namespace through the kernel's nvme-tcp over TLS (tlshd, nvme-cli
# --tls-key) and through netublkd over TLS (kTLS, copy mode), with netublkd
# in clear text (copy and zero copy) beside them for what TLS costs; fio
# io_uring O_DIRECT, interleaved repetitions, medians of ratios against the
# kernel over TLS.
#   scripts/bench-vm-nvme-tls.sh [REPS] [SECONDS] [KERNEL]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
scripts/build.sh
. scripts/bench-lib.sh
share=$(mktemp -d /tmp/netublk-bench-tls.XXXXXX)
NU_VM_SHARE=$share test/vm/vm.sh --kernel "${3:-sid}" --timeout 3000 \
	"$(bench_env)bash $PWD/scripts/bench-vm-nvme-tls-guest.sh $PWD/build ${1:-5} ${2:-8}"
python3 scripts/bench-summary.py "$share/bench.tsv" kernel-nvme-tcp-tls
echo "raw results: $share/bench.tsv"
