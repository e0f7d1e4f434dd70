#!/bin/bash
# Bad input to netublkd on a machine without ublk: clear message, exit code,
# nothing half-created. (The VM suite repeats this with the module loaded.)
set -u
d=${top_builddir:-.}/netublkd
fail=0
expect() { # expect CODE PATTERN -- args
	local code=$1 pat=$2; shift 3
	out=$("$d" "$@" 2>&1); rc=$?
	if [ "$rc" != "$code" ] || ! echo "$out" | grep -qE -e "$pat"; then
		echo "FAIL: netublkd $* -> rc=$rc (want $code), output:"; echo "$out"; fail=1
	else
		echo "ok: netublkd $* -> $rc"
	fi
}
expect 2 "invalid --mem size 'abc'" -- --mem abc
expect 2 "invalid --mem size '0'" -- --mem 0
expect 2 "not a multiple of the 4096-byte" -- --mem 1001k --block-size 4096
expect 2 "nothing to serve" --
expect 2 "--queues must be 1..64" -- --mem 1M --queues 0
expect 2 "--data-mode must be" -- --mem 1M --data-mode fast
expect 2 "--batch-io must be auto, on or off, not 'maybe'" -- --mem 1M --batch-io maybe
expect 2 "--queue-affinity must be any, blk-mq or apart" -- --mem 1M --queue-affinity near
if [ -e /dev/ublk-control ]; then
	echo "skip: /dev/ublk-control exists here; the VM suite covers the missing-module case"
else
	expect 1 "modprobe ublk_drv" -- --mem 16M
fi
exit $fail
