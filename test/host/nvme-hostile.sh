#!/bin/bash
# Hostile NVMe/TCP target input: a target that breaks the protocol once on
# each of its first I/O connections (a host-to-controller PDU type, an
# oversized PDU length, an unknown command ID, C2HData beyond the buffer,
# bad header and data digests, a truncated PDU, SUCCESS before all data, an
# R2T beyond the write, C2HTermReq, Command Sequence Error as from a
# controller that has failed). The initiator must tear the connection
# down, reconnect and resend: no crash, no I/O error, no read completed
# with wrong data. Then a target that sits on a command (Abort, resend), one
# that goes silent (keep-alive timeout, re-association, resend), and one
# that dies for good (EIO after ctrl_loss_timeout).
set -u
perf=${top_builddir:-.}/netublk-perf
target=${top_srcdir:-.}/test/tools/hostile_nvmet.py
NQN=nqn.2026-11.org.netublk:hostile
fail=0

. "${top_srcdir:-.}/test/host/hostile-lib.sh"

for mode in wrong-type oversized unknown-cid beyond-buffer bad-header-digest bad-data-digest \
	truncated short-read bad-r2t c2h-term seq-error; do
	hostile_start "$target" $mode
	opts=
	[ $mode = bad-header-digest ] && opts=,header_digest=crc32c
	[ $mode = bad-data-digest ] && opts=,data_digest=crc32c
	# The target takes 8 KiB in the capsule: 16k writes need an R2T.
	bs=4k
	[ $mode = bad-r2t ] && bs=16k
	out=$(timeout 60 "$perf" --nvme "address=127.0.0.1:$port,subsystem=$NQN,reconnect_delay=1$opts" \
		--qd 8 --bs $bs --rw randrw --verify --time 3 --log-level info 2>&1)
	rc=$?
	hostile_stop
	hostile_recovered $mode $rc "$out"
done

# Sits on one command per bad connection and answers Abort by completing it
# as aborted: the command is resent, the connection stays up.
hostile_start "$target" ignore-cmd
out=$(timeout 60 "$perf" --nvme "address=127.0.0.1:$port,subsystem=$NQN,command_timeout=2" \
	--qd 8 --bs 4k --rw randrw --verify --time 7 --log-level info 2>&1)
rc=$?
hostile_stop
hostile_expect ignore-cmd $rc "$out" "timed-out command aborted and resent, no reconnect, no error" \
	"Abort of queue 1 command" '!connection to .* lost'

# Goes silent on every connection (admin too) without closing any: Keep
# Alive (KATO 2 s) must notice, the controller is associated again and the
# I/O in flight is resent.
hostile_start "$target" silent
out=$(timeout 60 "$perf" --nvme "address=127.0.0.1:$port,subsystem=$NQN,keep_alive_timeout=2,reconnect_delay=1" \
	--qd 8 --bs 4k --rw randrw --verify --time 8 --log-level info 2>&1)
rc=$?
hostile_stop
hostile_expect silent $rc "$out" "keep-alive timeout seen, re-associated, I/O resent, no error" \
	"keep-alive not answered within KATO" "associated again" "reconnected"
# An honest controller whose C2HData (16 KiB each) arrives cut inside its
# data digest (a receive holds all of the data and part of the digest):
# every read verified, nothing dropped. A stream once wrote the digest's
# bytes past the request buffer here (ASan build: heap-buffer-overflow).
hostile_start "$target" split-digest
out=$(timeout 60 "$perf" --nvme "address=127.0.0.1:$port,subsystem=$NQN,data_digest=crc32c" \
	--qd 4 --bs 32k --rw randrw --verify --time 4 --log-level info 2>&1)
rc=$?
hostile_stop
split_digest_verdict
# Dies for good: after ctrl_loss_timeout (2 s) I/O fails with EIO instead of
# hanging; netublk-perf ends on time and reports the errors.
hostile_start "$target" die
start=$(date +%s)
out=$(timeout 60 "$perf" --nvme "address=127.0.0.1:$port,subsystem=$NQN,ctrl_loss_timeout=2,reconnect_delay=1" \
	--qd 8 --bs 4k --rw randrw --verify --time 6 --log-level info 2>&1)
rc=$?
took=$(($(date +%s) - start))
hostile_stop
if [ $rc = 1 ] && [ $took -lt 30 ] && echo "$out" | grep -q "unreachable for 2 s: failing I/O" &&
	echo "$out" | grep -Eq "errors [1-9]" && echo "$out" | grep -q ' 0 mismatches'; then
	echo "ok: die: after ctrl_loss_timeout I/O fails with EIO (run ended in $took s), no wrong data"
else
	echo "FAIL: die (rc=$rc, $took s)"; echo "$out" | tail -n 12
	fail=1
fi
exit $fail
