#!/bin/bash
# Hostile target input: a target that breaks the protocol once on each of
# its first connections (bad opcode, oversized data segment, unknown ITT,
# Data-In beyond the buffer, bad header digest, truncated PDU, short read
# with good status, R2T beyond the write, status without the final bit).
# The initiator must drop the connection, log in again and resend: no
# crash, no I/O error, no read completed with wrong data.
set -u
perf=${top_builddir:-.}/netublk-perf
target=${top_srcdir:-.}/test/tools/hostile_target.py
fail=0
. "${top_srcdir:-.}/test/host/hostile-lib.sh"
for mode in bad-opcode oversized unknown-itt beyond-buffer bad-header-digest truncated \
	short-data-in bad-r2t data-no-status-final; do
	hostile_start "$target" $mode
	digest=
	[ $mode = bad-header-digest ] && digest=,header_digest=crc32c
	out=$(timeout 60 "$perf" --iscsi "portal=127.0.0.1:$port,target=iqn.2026-11.org.netublk:hostile$digest" \
		--qd 8 --bs 4k --rw randrw --verify --time 3 --log-level info 2>&1)
	rc=$?
	hostile_stop
	hostile_recovered $mode $rc "$out"
done
# A target that sits on one command per connection (and answers ABORT TASK):
# after the command timeout the command is aborted and resent, the
# connection stays up, and nothing fails.
hostile_start "$target" ignore-cmd
out=$(timeout 60 "$perf" --iscsi "portal=127.0.0.1:$port,target=iqn.2026-11.org.netublk:hostile,command_timeout=2" \
	--qd 8 --bs 4k --rw randrw --verify --time 6 --log-level info 2>&1)
rc=$?
hostile_stop
if [ $rc = 0 ] && echo "$out" | grep -q "ABORT TASK" && ! echo "$out" | grep -q "connection to .* lost" &&
	echo "$out" | grep -q ' 0 mismatches'; then
	echo "ok: ignore-cmd: timed-out command aborted (ABORT TASK) and resent, no reconnect, no error"
else
	echo "FAIL: ignore-cmd (rc=$rc)"; echo "$out" | tail -n 12
	fail=1
fi
# A target that ignores ABORT TASK but answers LUN RESET: the reset ends
# the command, it is resent, no reconnect, nothing fails.
hostile_start "$target" ignore-abort
out=$(timeout 60 "$perf" --iscsi "portal=127.0.0.1:$port,target=iqn.2026-11.org.netublk:hostile,command_timeout=2" \
	--qd 8 --bs 4k --rw randrw --verify --time 8 --log-level info 2>&1)
rc=$?
hostile_stop
if [ $rc = 0 ] && echo "$out" | grep -q "not answered in 2 s: LUN RESET" &&
	echo "$out" | grep -q "LUN 0 reset" && ! echo "$out" | grep -q "connection to .* lost" &&
	echo "$out" | grep -q ' 0 mismatches'; then
	echo "ok: ignore-abort: ABORT TASK unanswered, LUN RESET ended the command, resent, no reconnect"
else
	echo "FAIL: ignore-abort (rc=$rc)"; echo "$out" | tail -n 12
	fail=1
fi
# No task management answered at all: after the reset's own timeout the
# connection is dropped, and the relogin resends the command.
hostile_start "$target" ignore-tmf
out=$(timeout 60 "$perf" --iscsi "portal=127.0.0.1:$port,target=iqn.2026-11.org.netublk:hostile,command_timeout=2" \
	--qd 8 --bs 4k --rw randrw --verify --time 10 --log-level info 2>&1)
rc=$?
hostile_stop
if [ $rc = 0 ] && echo "$out" | grep -q "LUN RESET not answered" &&
	echo "$out" | grep -q "reconnected" && echo "$out" | grep -q ' 0 mismatches'; then
	echo "ok: ignore-tmf: reset unanswered, connection dropped, command resent, no error"
else
	echo "FAIL: ignore-tmf (rc=$rc)"; echo "$out" | tail -n 12
	fail=1
fi
exit $fail
