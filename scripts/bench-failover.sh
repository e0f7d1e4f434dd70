#!/bin/bash
# BENCHMARK (not a test): failover time in one VM run, interleaved trials
# (see bench-failover-guest.sh): netublk on a lost carrier (rtnetlink),
# netublk and the kernel's NVMe/TCP native multipath on a black-holed path
# at equal keep-alive and I/O timeouts. Median and max per stack.
#   scripts/bench-failover.sh [TRIALS] [KERNEL]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
scripts/build.sh
share=$(mktemp -d /tmp/netublk-bench-failover.XXXXXX)
NU_VM_SHARE=$share test/vm/vm.sh --kernel "${2:-sid}" --timeout 3000 \
	"bash $PWD/scripts/bench-failover-guest.sh $PWD/build ${1:-10}"
python3 - "$share/failover.tsv" <<'PY'
import csv, statistics, sys
by = {}
for r in csv.DictReader(open(sys.argv[1]), delimiter='\t'):
    by.setdefault(r['stack'], []).append(float(r['failover_ms']))
print('| stack | trials | median ms | max ms |')
print('| --- | --- | --- | --- |')
for k, v in by.items():
    print(f'| {k} | {len(v)} | {statistics.median(v):.0f} | {max(v):.0f} |')
PY
echo "raw results: $share/failover.tsv, daemon logs: $share/fo-*.log"
