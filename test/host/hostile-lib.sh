# shellcheck shell=bash
# Shared by the hostile-target host tests.
#   hostile_start SCRIPT MODE [ARGS] the target on a free port: sets port, tpid,
#                                    hostile_log (what it printed)
#   hostile_stop                     kills it
#   hostile_recovered NAME RC OUT    ok when the run exited 0, the connection
#                                    dropped and came back at least twice, and
#                                    no read returned wrong data (sets fail)
#   hostile_expect NAME RC OUT OKMSG PATTERN...
#                                    ok when the run exited 0, read no wrong
#                                    data and its log has every PATTERN
#                                    ("!PATTERN": has it not) (sets fail)
hostile_start() {
	# Below the ephemeral range (32768-60999), which clients' own sockets use,
	# and tried again if the port turns out to be taken anyway.
	for _ in 1 2 3 4 5 6 7 8; do
		port=$((30000 + RANDOM % 2700))
		ss -tan | grep -q ":$port " && continue
		hostile_log=${TMPDIR:-/tmp}/hostile-$port.log
		python3 "$1" --port $port --mode "$2" --after 30 --bad-conns 2 "${@:3}" >"$hostile_log" 2>&1 &
		tpid=$!
		for _ in $(seq 50); do
			ss -ltn | grep -q ":$port " && return 0
			kill -0 $tpid 2>/dev/null || break
			sleep 0.1
		done
		kill $tpid 2>/dev/null; wait $tpid 2>/dev/null
	done
	echo "hostile target would not start:"; cat "$hostile_log"
	return 1
}
hostile_stop() {
	kill $tpid 2>/dev/null; wait $tpid 2>/dev/null
}
hostile_recovered() {
	local name=$1 rc=$2 out=$3 lost back
	lost=$(echo "$out" | grep -c 'connection to .* lost')
	back=$(echo "$out" | grep -c 'reconnected')
	if [ "$rc" = 0 ] && [ "$lost" -ge 2 ] && [ "$back" -ge 2 ] && echo "$out" | grep -q ' 0 mismatches'; then
		echo "ok: $name: dropped $lost times, reconnected, data verified, no error"
	else
		echo "FAIL: $name (rc=$rc, lost=$lost, reconnected=$back)"; echo "$out" | tail -n 12
		fail=1
	fi
}
hostile_expect() {
	local name=$1 rc=$2 out=$3 okmsg=$4 p good=1
	shift 4
	{ [ "$rc" = 0 ] && echo "$out" | grep -q ' 0 mismatches'; } || good=0
	for p in "$@"; do
		if [ "${p#!}" != "$p" ]; then
			! echo "$out" | grep -q -- "${p#!}" || good=0
		else
			echo "$out" | grep -q -- "$p" || good=0
		fi
	done
	if [ $good = 1 ]; then
		echo "ok: $name: $okmsg"
	else
		echo "FAIL: $name (rc=$rc)"; echo "$out" | tail -n 15
		fail=1
	fi
}
# After a split-digest run (out, rc): the target cut data PDUs inside their
# digest (so the case was reached), and the run saw no reconnect, no digest
# error, no wrong data.
split_digest_verdict() {
	local cuts
	cuts=$(grep -c '^split' "$hostile_log")
	rm -f "$hostile_log"
	if [ "$cuts" -lt 5 ]; then
		echo "FAIL: split-digest: the target cut only $cuts PDUs inside their digest"; fail=1
		return
	fi
	hostile_expect split-digest "$rc" "$out" "$cuts data PDUs cut inside their digest: verified, no reconnect" \
		'!connection to .* lost' '!data digest mismatch'
}
