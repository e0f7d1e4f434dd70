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
# Targets that sit on one command per connection, with command_timeout 2 s.
sit() { # sit MODE SECONDS: sets out and rc
	hostile_start "$target" $1
	out=$(timeout 60 "$perf" --iscsi "portal=127.0.0.1:$port,target=iqn.2026-11.org.netublk:hostile,command_timeout=2" \
		--qd 8 --bs 4k --rw randrw --verify --time $2 --log-level info 2>&1)
	rc=$?
	hostile_stop
}
# Answers ABORT TASK: the command is aborted and resent, the connection stays up.
sit ignore-cmd 6
hostile_expect ignore-cmd $rc "$out" "timed-out command aborted (ABORT TASK) and resent, no reconnect, no error" \
	"ABORT TASK" '!connection to .* lost'
# Ignores ABORT TASK, answers LUN RESET: the reset ends the command, it is
# resent, no reconnect.
sit ignore-abort 8
hostile_expect ignore-abort $rc "$out" "ABORT TASK unanswered, LUN RESET ended the command, resent, no reconnect" \
	"not answered in 2 s: LUN RESET" "LUN 0 reset" '!connection to .* lost'
# No task management answered at all: after the reset's own timeout the
# connection is dropped and the relogin resends the command.
sit ignore-tmf 10
hostile_expect ignore-tmf $rc "$out" "reset unanswered, connection dropped, command resent, no error" \
	"LUN RESET not answered" "reconnected"
# An honest target whose Data-In arrives cut inside its data digest (a
# receive holds all of the data and part of the trailer): every read
# verified, nothing dropped. A stream once wrote the trailer's bytes past
# the request buffer here (ASan build: heap-buffer-overflow).
hostile_start "$target" split-digest
out=$(timeout 60 "$perf" --iscsi "portal=127.0.0.1:$port,target=iqn.2026-11.org.netublk:hostile,data_digest=crc32c" \
	--qd 4 --bs 64k --rw randrw --verify --time 4 --log-level info 2>&1)
rc=$?
hostile_stop
split_digest_verdict
exit $fail
