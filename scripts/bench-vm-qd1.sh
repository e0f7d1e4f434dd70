#!/bin/bash
# BENCHMARK (not a test): 4k random reads at QD1 on one nvmet-tcp namespace
# through the kernel's nvme-tcp and through netublkd with its queue threads
# left to the scheduler and placed on their blk-mq CPUs (--queue-affinity
# blk-mq), interleaved; per device the median IOPS and, from perf stat -a
# over each fio run, context switches and CPU migrations per I/O.
#   scripts/bench-vm-qd1.sh [REPS] [SECONDS] [KERNEL]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
scripts/build.sh
share=$(mktemp -d /tmp/netublk-bench-qd1.XXXXXX)
NU_VM_SHARE=$share test/vm/vm.sh --kernel "${3:-sid}" --timeout 3000 \
	"bash $PWD/scripts/bench-vm-qd1-guest.sh $PWD/build ${1:-5} ${2:-5}"
python3 - "$share/qd1.tsv" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])][1:]
print("| device | median IOPS | context switches per I/O | CPU migrations per I/O | n |")
print("| --- | --- | --- | --- | --- |")
for dev in dict.fromkeys(r[1] for r in rows):
    rs = [r for r in rows if r[1] == dev]
    med = lambda i: statistics.median(float(r[i]) for r in rs)
    print("| %s | %.0f | %.1f | %.2f | %d |" % (dev, med(2), med(3), med(4), len(rs)))
PY
echo "raw results: $share/qd1.tsv"
