#!/bin/bash
# DH-HMAC-CHAP against a controller computed independently (Python's hashlib,
# hmac and pow(), test/tools/dhchap.py): every hash, DH groups from null to
# ffdhe8192, one-way and both ways, keys of each transformation; data
# verified on the authenticated I/O queue. Then every way it goes wrong: a
# wrong host key, a controller that fails its own proof or skips it, and
# malformed messages. Each is refused with a message that says which side
# refused and why, no secret in the output, no crash.
set -u
perf=${top_builddir:-.}/netublk-perf
target=${top_srcdir:-.}/test/tools/hostile_nvmet.py
keygen="python3 ${top_srcdir:-.}/test/tools/dhchap.py genkey"
NQN=nqn.2026-11.org.netublk:hostile
fail=0

. "${top_srcdir:-.}/test/host/hostile-lib.sh"

run() { # run SPEC_EXTRA [SECONDS]: sets out, rc
	out=$(timeout 60 "$perf" --nvme "address=127.0.0.1:$port,subsystem=$NQN,reconnect_delay=1$1" \
		--qd 8 --bs 4k --rw randrw --verify --time "${2:-2}" --log-level info 2>&1)
	rc=$?
}
no_secret() { # no_secret KEY...: none of them in out
	local k
	for k in "$@"; do
		[ -n "$k" ] && echo "$out" | grep -qF -- "${k:10:16}" && return 1
	done
	return 0
}

# hash group bidirectional key-transformation
for combo in "1 0 no 0" "1 1 yes 1" "2 2 yes 2" "3 3 no 3" "2 4 yes 1" "3 5 yes 2"; do
	set -- $combo
	hname=$(python3 -c "print({1:'sha256',2:'sha384',3:'sha512'}[$1])")
	key=$($keygen "$4" 48)
	ckey=
	[ "$3" = yes ] && ckey=$($keygen "$4" 32)
	hostile_start "$target" none --dhchap-key "$key" ${ckey:+--dhchap-ctrl-key "$ckey"} \
		--dhchap-hash "$1" --dhchap-group "$2"
	run ",dhchap_secret=$key${ckey:+,dhchap_ctrl_secret=$ckey}"
	hostile_stop
	dir=unidirectional
	[ "$3" = yes ] && dir=bidirectional
	if [ $rc = 0 ] && echo "$out" | grep -q ' 0 mismatches' &&
		grep -q "auth qid 0: authenticated $hname group $2 $dir" "$hostile_log" &&
		grep -q "auth qid 1: authenticated $hname group $2 $dir" "$hostile_log" &&
		no_secret "$key" "$ckey"; then
		echo "ok: $hname group $2 $dir (key transformation $4): admin and I/O queue authenticated, data verified"
	else
		echo "FAIL: $hname group $2 $dir (rc=$rc)"; echo "$out" | tail -n 8; cat "$hostile_log"
		fail=1
	fi
done

refused() { # refused NAME PATTERN [LOGPATTERN]: the run failed, saying PATTERN
	if [ $rc != 0 ] && echo "$out" | grep -q -- "$2" && no_secret "$key" "$ckey" &&
		{ [ -z "${3:-}" ] || grep -q -- "$3" "$hostile_log"; }; then
		echo "ok: $1: refused: $2"
	else
		echo "FAIL: $1 (rc=$rc)"; echo "$out" | tail -n 8; cat "$hostile_log"
		fail=1
	fi
}

key=$($keygen 1)
ckey=$($keygen 2 48)
hostile_start "$target" none --dhchap-key "$($keygen 1)" --dhchap-hash 1 --dhchap-group 1
run ",dhchap_secret=$key"
hostile_stop
refused "wrong host key" "queue 0: DH-HMAC-CHAP: the controller refused the host: authentication failed" \
	"host response mismatch"

hostile_start "$target" none --dhchap-key "$key" --dhchap-hash 1
run ""
hostile_stop
refused "no key for a controller that requires one" "requires DH-HMAC-CHAP authentication: set dhchap_secret"

hostile_start "$target" none
run ",dhchap_secret=$key,dhchap_ctrl_secret=$ckey"
hostile_stop
refused "controller key set, controller does not authenticate" "does not ask for DH-HMAC-CHAP"

# ... but a discovery controller, which only says where to go, need not.
hostile_start "$target" none
out=$(timeout 30 "${top_builddir:-.}/netublkd" --nvme-discover \
	"address=127.0.0.1:$port,dhchap_secret=$key,dhchap_ctrl_secret=$ckey" 2>&1)
rc=$?
hostile_stop
if [ $rc = 0 ]; then
	echo "ok: discovery with a controller key, discovery controller not authenticating: allowed"
else
	echo "FAIL: discovery with a controller key (rc=$rc)"; echo "$out" | tail -n 5
	fail=1
fi

hostile_start "$target" none --dhchap-key "$key" --dhchap-hash 3
run ",dhchap_secret=$key,dhchap_hashes=sha256"
hostile_stop
refused "no common hash" "the controller refused the host: hash function not usable"

for m in "auth-bad-ctrl-resp:its response does not match dhchap_ctrl_secret:failure2, reason 1" \
	"auth-no-ctrl-resp:it did not answer the host's challenge:failure2, reason 1" \
	"auth-wrong-tid:message of another transaction:failure2, reason 7" \
	"auth-bad-dh:the controller's DH value is invalid:failure2, reason 6" \
	"auth-long-dh:DH value length does not match its group:failure2, reason 6" \
	"auth-skip-challenge:controller skipped its challenge:failure2, reason 7" \
	"auth-garbage:controller sent a bad message:failure2, reason 7" \
	"auth-s1-hl:success1 of another hash length:failure2, reason 4"; do
	mode=${m%%:*}
	rest=${m#*:}
	hostile_start "$target" "$mode" --dhchap-key "$key" --dhchap-ctrl-key "$ckey" --dhchap-hash 2 \
		--dhchap-group 1
	run ",dhchap_secret=$key,dhchap_ctrl_secret=$ckey"
	hostile_stop
	refused "$mode" "${rest%%:*}" "${rest#*:}"
done
# The controller asks an I/O queue to authenticate again (status
# Authentication Required) mid-run, on two connections: each is connected
# and authenticated again, the commands resent, no error, data verified.
hostile_start "$target" auth-expire --dhchap-key "$key" --dhchap-hash 1 --dhchap-group 1
run ",dhchap_secret=$key" 6
hostile_stop
n=$(grep -c "auth qid 1: authenticated" "$hostile_log")
if [ $rc = 0 ] && echo "$out" | grep -q ' 0 mismatches' && echo "$out" | grep -q "errors 0" &&
	echo "$out" | grep -q "asks for authentication again" && [ "$n" -ge 3 ]; then
	echo "ok: auth-expire: the I/O queue authenticated again $((n - 1)) times, commands resent, data verified"
else
	echo "FAIL: auth-expire (rc=$rc, I/O queue authentications $n)"; echo "$out" | tail -n 12
	fail=1
fi
exit $fail
