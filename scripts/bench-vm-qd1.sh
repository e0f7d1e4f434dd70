#!/bin/bash
# BENCHMARK (not a test): 4k random reads at QD1 on one nvmet-tcp namespace
# through the kernel's nvme-tcp and through netublkd as it is and with busy
# polling (--busy-poll for each of NU_BENCH_POLLS, default "50 200"), interleaved; per device the median IOPS,
# its ratio to the kernel's in the same round, from perf stat -a over each
# fio run context switches and CPU migrations per I/O, and netublkd's own
# CPU time per I/O. NU_BENCH_BASE=DIR adds DIR/netublkd (an older build)
# polling as long as the last of NU_BENCH_POLLS, as one more device, on
# the CPUs NU_BENCH_BASE_CPUS if set (taskset), with the options
# NU_BENCH_BASE_ARGS (e.g. "--queue-affinity apart"); NU_BENCH_FIO_CPUS places
# fio for every device.
#   scripts/bench-vm-qd1.sh [REPS] [SECONDS] [KERNEL]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
scripts/build.sh
. scripts/bench-lib.sh
share=$(mktemp -d /tmp/netublk-bench-qd1.XXXXXX)
NU_VM_SHARE=$share test/vm/vm.sh --kernel "${3:-sid}" --timeout 3000 \
	"$(bench_env)bash $PWD/scripts/bench-vm-qd1-guest.sh $PWD/build ${1:-5} ${2:-5} '${NU_BENCH_POLLS:-50 200}' ${NU_BENCH_BASE:-}"
python3 - "$share/qd1.tsv" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])][1:]
kern = {r[0]: float(r[2]) for r in rows if r[1] == "kernel-nvme-tcp"}
print("| device | median IOPS | ratio to the kernel (median, min..max) | context switches per I/O "
      "| CPU migrations per I/O | netublkd CPU us per I/O | n |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for dev in dict.fromkeys(r[1] for r in rows):
    rs = [r for r in rows if r[1] == dev]
    med = lambda i: statistics.median(float(r[i]) for r in rs)
    ratios = [float(r[2]) / kern[r[0]] for r in rs if kern.get(r[0])]
    print("| %s | %.0f | %.2f (%.2f..%.2f) | %.1f | %.2f | %s | %d |" % (
        dev, med(2), statistics.median(ratios), min(ratios), max(ratios), med(3), med(4),
        "-" if dev.startswith("kernel") else "%.0f" % med(5), len(rs)))
PY
echo "raw results: $share/qd1.tsv"
