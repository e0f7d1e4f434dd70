# NVMe/TCP over TLS 1.3 against the kernel's nvmet, whose handshakes tlshd
# does, with keys made and put in the keyring by nvme-cli 2.16 (its own
# derivation of the retained PSK, identity and TLS PSK): SHA-256 and SHA-384
# keys, identity versions 1 and 0, nvme-cli's --compat derivation; TLS on
# the admin and every I/O queue (status); fio verify; refusals that say who
# refused and why; clear text and TLS meeting the wrong port; tls =
# preferred; TLS and DH-HMAC-CHAP together; the key in the secrets file, ext4,
# fio verify through a link outage and through a key rotation (reload);
# discovery over TLS and the log page's TLS requirements; then the kernel's
# nvme-tcp with nvme-cli's --tls reads back what netublk wrote.
modprobe ublk_drv
. "$HERE/../../nvmet-lib.sh"
nvmet_load || { fail "nvmet modules load"; return; }
if ! tlshd_start; then
	fail "tlshd starts (the NVMe/TCP TLS tests need scripts/setup.sh's sid TLS tools)"
	return
fi
# tlshd 1.0, the one that runs on Linux 6.12, takes no SHA-384 PSKs.
H2=2 SUITE2=TLS_AES_256_GCM_SHA384 RELAY_HASH=--sha384
if [ "$TLSHD" != "$SIDTLS/tlshd" ]; then
	H2=1 SUITE2=TLS_AES_128_GCM_SHA256 RELAY_HASH=
fi
NQN=nqn.2026-12.org.netublk:tls
HOSTNQN=nqn.2014-08.org.nvmexpress:uuid:7d1c0a52-93e4-4b6f-8a20-1f5e3c9b2d71
DISC=nqn.2014-08.org.nvmexpress.discovery
TPORT=4430 CPORT=4431 OPORT=4432
nvmet_subsys $NQN
nvmet_ns $NQN 1 128 4096
nvmet_port_tls 30 $TPORT required
nvmet_port 31 $CPORT
nvmet_port_tls 32 $OPORT "not required"
for p in 30 31 32; do nvmet_link $NQN $p; done
SPEC=address=127.0.0.1:$TPORT,subsystem=$NQN,host_nqn=$HOSTNQN
gen() { $SIDTLS/nvme gen-tls-key --hmac="$1"; }
# tls_all WANT: the admin queue and both I/O queues secured so (status).
tls_all() {
	"$BUILD/netublkctl" --json status | python3 -c "
import json, sys
p, want = json.load(sys.stdin)['targets'][0]['paths'], sys.argv[1]
assert len(p) == 3 and all(x['state'] == 'up' for x in p), p
assert all(x['security'] == want for x in p), p
" "$1"
}

# Key hash (01 SHA-256, 02 SHA-384), identity version, nvme-cli --compat.
for combo in "1 1 no" "2 1 no" "1 0 no" "2 1 yes"; do
	set -- $combo
	if [ "$1" = 2 ] && [ $H2 = 1 ]; then
		skip "TLS, key hash 02 ($combo): tlshd 1.0 (this kernel's) has no SHA-384 PSKs"
		continue
	fi
	key=$(gen "$1")
	opts="--identity=$2"
	[ "$3" = yes ] && opts="$opts --compat"
	# shellcheck disable=SC2086
	tls_key_insert "$key" $HOSTNQN $NQN $opts || { fail "nvme-cli inserts the key ($combo)"; continue; }
	suite=TLS_AES_128_GCM_SHA256
	[ "$1" = 2 ] && suite=TLS_AES_256_GCM_SHA384
	name="TLS, key hash 0$1, identity v$2"
	[ "$3" = yes ] && name="$name, nvme-cli --compat"
	if ! start_daemon tls-$1-$2-$3 --nvme "$SPEC,tls=required,tls_key=$key,tls_identity_version=$2,tls_compat=$3" --queues 2; then
		fail "$name: netublkd connects"; continue
	fi
	check "$name: admin and both I/O queues over TLS 1.3 $suite (status)" tls_all "TLS 1.3 $suite"
	check "$name: copy mode (kTLS)" test "$DMODES" = copy
	check "$name: no key in the log" sh -c "! grep -qF -- '${key:16:20}' '$DLOG'"
	check "$name: fio verify 4k..256k" fio_verify "${DEVS%% *}" 4k 8 8M --bsrange=4k-256k
	check "$name: SIGTERM: exit 0" stop_daemon
done
# The same --compat key without tls_compat: another identity, which the target does not know.
"$NETUBLKD" --nvme "$SPEC,tls=required,tls_key=$key" >/tmp/tls-out 2>&1; rc=$?
check "a --compat key without tls_compat: exit 1, says the target has no PSK for it" sh -c "test $rc = 1 && grep -q 'it has no PSK for this identity (wrong tls_key, tls_identity_version or tls_compat?)' /tmp/tls-out"

# Refusals, each saying what happened.
"$NETUBLKD" --nvme "$SPEC,tls=required,tls_key=$(gen 1)" >/tmp/tls-out 2>&1; rc=$?
check "a key the target does not have: exit 1, says the target has no PSK for it" sh -c "test $rc = 1 && grep -q 'it has no PSK for this identity' /tmp/tls-out"
"$NETUBLKD" --nvme "$SPEC" >/tmp/tls-out 2>&1; rc=$?
check "clear text to a port that requires TLS: exit 1, says so" sh -c "test $rc = 1 && grep -q 'does the port require TLS' /tmp/tls-out"
key=$(gen 1)
tls_key_insert "$key" $HOSTNQN $NQN
"$NETUBLKD" --nvme "address=127.0.0.1:$CPORT,subsystem=$NQN,host_nqn=$HOSTNQN,tls=required,tls_key=$key" >/tmp/tls-out 2>&1; rc=$?
check "tls = required to a port without TLS: exit 1, says so" sh -c "test $rc = 1 && grep -q 'its port does not offer TLS' /tmp/tls-out"
check "no device after refusals" no_ublk_devices

# Preferred: TLS where the port offers it, clear text where it does not.
if start_daemon tls-pref-clear --nvme "address=127.0.0.1:$CPORT,subsystem=$NQN,host_nqn=$HOSTNQN,tls=preferred,tls_key=$key" --queues 2; then
	check "tls = preferred, port without TLS: served in clear text (status)" tls_all none
	check "tls = preferred, port without TLS: said in the log" grep -q "connecting in clear text (tls = preferred)" "$DLOG"
	check "tls = preferred, port without TLS: fio verify" fio_verify "${DEVS%% *}" 4k 8 4M
	check "SIGTERM: exit 0" stop_daemon
else
	fail "tls = preferred to a port without TLS: netublkd serves"
fi
if start_daemon tls-pref-tls --nvme "address=127.0.0.1:$OPORT,subsystem=$NQN,host_nqn=$HOSTNQN,tls=preferred,tls_key=$key" --queues 2; then
	check "tls = preferred, port offering TLS (not required): TLS (status)" tls_all "TLS 1.3 TLS_AES_128_GCM_SHA256"
	check "SIGTERM: exit 0" stop_daemon
else
	fail "tls = preferred to a port offering TLS: netublkd serves"
fi

# TLS, then DH-HMAC-CHAP inside it.
dkey=$(nvme gen-dhchap-key --hmac=1 --nqn="$HOSTNQN")
nvmet_auth_host $NQN $HOSTNQN "$dkey" "" "hmac(sha256)" ffdhe2048
if start_daemon tls-auth --nvme "$SPEC,tls=required,tls_key=$key,dhchap_secret=$dkey" --queues 2; then
	check "TLS and DH-HMAC-CHAP: both on the admin queue, the association's on the I/O queues" \
		"$BUILD/netublkctl" --json status | python3 -c "
import json, sys
p = json.load(sys.stdin)['targets'][0]['paths']
t = 'TLS 1.3 TLS_AES_128_GCM_SHA256, '
assert p[0]['security'] == t + 'DH-HMAC-CHAP sha256 ffdhe2048 unidirectional', p
assert all(x['security'] in (t + 'association: DH-HMAC-CHAP sha256 ffdhe2048 unidirectional',
                             t + 'DH-HMAC-CHAP sha256 ffdhe2048 unidirectional') for x in p[1:]), p
"
	check "TLS and DH-HMAC-CHAP: fio verify" fio_verify "${DEVS%% *}" 4k 8 4M
	check "SIGTERM: exit 0" stop_daemon
else
	fail "TLS and DH-HMAC-CHAP together: netublkd connects"
fi
rm -f "$NVMET/subsystems/$NQN/allowed_hosts/$HOSTNQN"; rmdir "$NVMET/hosts/$HOSTNQN"
echo 1 >"$NVMET/subsystems/$NQN/attr_allow_any_host"

# The key in the secrets file: ext4, a link outage, a key rotation.
printf '[target t]\ntls_key = %s\n' "$key" >/tmp/tls.secrets
chmod 600 /tmp/tls.secrets
cat >/tmp/tls.conf <<CONF
[global]
queues = 2
host_nqn = $HOSTNQN
secrets = /tmp/tls.secrets
[target t]
transport = nvme-tcp
address = 127.0.0.1:$TPORT
subsystem = $NQN
tls = required
keep_alive_timeout = 2
reconnect_delay = 1
CONF
if ! start_daemon tls-conf --config /tmp/tls.conf; then
	fail "netublkd with the TLS key in its secrets file"; tlshd_stop; nvmet_clear; return
fi
pass "netublkd with the TLS key in its secrets file"
WANT="TLS 1.3 TLS_AES_128_GCM_SHA256"
dev=${DEVS%% *}
check "ext4 over TLS: checksummed file after a remount" ext4_roundtrip "$dev" /mnt/tl
check "fio verify through a link outage: exit 0, no error" fio_during tl "$dev" 2 link_outage
for _ in $(seq 1 50); do tls_all "$WANT" 2>/dev/null && break; sleep 0.2; done
check "after the outage every queue is over TLS again" tls_all "$WANT"
key2=$(gen $H2)
tls_key_insert "$key2" $HOSTNQN $NQN
ready_before=$(cat "$LOGDIR/ready")
rotate() {
	printf '[target t]\ntls_key = %s\n' "$key2" >/tmp/tls.secrets
	"$BUILD/netublkctl" reload >/dev/null
}
check "fio verify through a TLS key rotation: exit 0, no error" fio_during trot "$dev" 1 rotate
check "reload: keys changed (log), the same devices" sh -c "grep -q 'keys changed: authenticating its connections again' '$DLOG' && test \"\$(cat '$LOGDIR/ready')\" = '$ready_before'"
for _ in $(seq 1 50); do tls_all "TLS 1.3 $SUITE2" 2>/dev/null && break; sleep 0.2; done
check "after the rotation every queue uses the new key" tls_all "TLS 1.3 $SUITE2"
check "no key in the log" sh -c "! grep -qF -e '${key:16:20}' -e '${key2:16:20}' '$DLOG'"
head -c 16M /dev/urandom >/tmp/tl16
dd if=/tmp/tl16 of=$dev bs=1M seek=100 oflag=direct status=none && sync $dev
check "SIGTERM: exit 0" stop_daemon
check "no device left" no_ublk_devices

# A TLS peer that misbehaves (test/tools/tls_relay: openssl's record layer
# in user space, in front of the clear-text port, given the PSK that
# test/tools/nvme_tls.py derives): tickets after the handshake are passed
# over; a KeyUpdate, a close_notify or an undecryptable record on one queue
# costs that queue a reconnect, said in the log, and no I/O error.
derived=$(python3 "$HERE/../../tools/nvme_tls.py" derive "$key2" $HOSTNQN $NQN)
ident=$(echo "$derived" | sed -n 1p) hexpsk=$(echo "$derived" | sed -n 2p)
RPORT=4440
relay_case() { # relay_case NAME LOGPATTERN [tls_relay options]
	local name=$1 pat=$2
	shift 2
	"$BUILD/test/tools/tls_relay" $RPORT $CPORT "$ident" "$hexpsk" $RELAY_HASH --tickets 2 "$@" \
		>"$LOGDIR/relay.out" 2>&1 &
	local rpid=$!
	sleep 0.5
	if ! start_daemon tls-relay --nvme "address=127.0.0.1:$RPORT,subsystem=$NQN,host_nqn=$HOSTNQN,tls=required,tls_key=$key2,reconnect_delay=1" --queues 2; then
		fail "$name: netublkd connects through the TLS relay"
		kill $rpid; wait $rpid 2>/dev/null
		return
	fi
	check "$name: fio verify, no error" fio_verify "${DEVS%% *}" 4k 8 16M
	if [ -n "$pat" ]; then
		check "$name: the relay misbehaved" grep -q "^fault: " "$LOGDIR/relay.out"
		check "$name: the queue's loss and its reason in the log" grep -q "$pat" "$DLOG"
		for _ in $(seq 1 50); do tls_all "TLS 1.3 $SUITE2" 2>/dev/null && break; sleep 0.2; done
		check "$name: every queue over TLS again" tls_all "TLS 1.3 $SUITE2"
	else
		check "$name: every queue over TLS, no connection lost" sh -c "! grep -q 'lost' '$DLOG'"
		check "$name: status" tls_all "TLS 1.3 $SUITE2"
	fi
	check "$name: SIGTERM: exit 0" stop_daemon
	kill $rpid; wait $rpid 2>/dev/null
}
relay_case "TLS peer sending NewSessionTickets" ""
relay_case "TLS peer sending a KeyUpdate" "the target updated its keys (KeyUpdate)" \
	--fault key-update --fault-on 1
relay_case "TLS peer sending close_notify" "close notify alert from the target" \
	--fault close-notify --fault-on 2
relay_case "TLS peer sending a record that does not decrypt" "lost: Bad message" \
	--fault garbage --fault-on 1

# Discovery over TLS: the log page says which ports require TLS; connect-all
# uses TLS where they do (the discovery controller's PSK is for its own NQN).
tls_key_insert "$key2" $HOSTNQN $DISC
# nvmet lists the subsystems of the port asked.
disc() { # disc PORT TLS: the discovery log page read there, in /tmp/tls-out
	"$NETUBLKD" --nvme-discover "address=127.0.0.1:$1,host_nqn=$HOSTNQN${2:+,tls=$2,tls_key=$key2}" \
		>/tmp/tls-out 2>&1 || { cat /tmp/tls-out; return 1; }
}
disc_says() { disc "$1" "$2" && grep -qx "tcp 127.0.0.1:$1 $NQN$3" /tmp/tls-out || { cat /tmp/tls-out; return 1; }; }
check "discovery over TLS: a port that requires TLS listed so" disc_says $TPORT required " (TLS required)"
check "discovery (tls = preferred): a port that offers TLS listed so" disc_says $OPORT preferred " (TLS offered)"
check "discovery in clear text: a port without TLS listed so" disc_says $CPORT "" ""
# One port left, so that connect-all finds the subsystem once.
rm -f "$NVMET/ports/31/subsystems/$NQN" "$NVMET/ports/32/subsystems/$NQN"
cat >/tmp/tls-disc.conf <<CONF
[global]
queues = 2
host_nqn = $HOSTNQN
[target site]
transport = nvme-tcp
address = 127.0.0.1:$TPORT
discover = yes
tls = required
tls_key = $key2
CONF
chmod 600 /tmp/tls-disc.conf
if start_daemon tls-disc --config /tmp/tls-disc.conf; then
	disc_ok() {
		grep -q "discovered $NQN at 127.0.0.1:$TPORT (TLS required)" "$DLOG" &&
			tls_all "TLS 1.3 $SUITE2"
	}
	check "discover = yes over TLS: the subsystem found, TLS required, over TLS (status)" disc_ok
	check "discover = yes over TLS: fio verify" fio_verify "${DEVS%% *}" 4k 8 4M --offset=8M
	check "SIGTERM: exit 0" stop_daemon
else
	fail "discover = yes over TLS: netublkd serves"
fi

# The kernel's nvme-tcp, TLS by nvme-cli's --tls and --tls-key, reads what netublk wrote.
if $SIDTLS/nvme connect -t tcp -a 127.0.0.1 -s $TPORT -n $NQN --hostnqn=$HOSTNQN --tls \
	--tls-key="$key2" >/tmp/nvme-tls-connect.log 2>&1; then
	kdev=
	for _ in $(seq 1 50); do
		for b in /sys/block/nvme*n*; do
			case $b in *c[0-9]*n*) continue ;; esac
			[ "$(cat "$b/device/subsysnqn" 2>/dev/null)" = $NQN ] && kdev=/dev/${b##*/}
		done
		[ -n "$kdev" ] && break
		sleep 0.1
	done
	check "kernel nvme-tcp over TLS (nvme-cli --tls-key): reads back netublk's data" sh -c "dd if=$kdev bs=1M skip=100 count=16 iflag=direct status=none | cmp -s - /tmp/tl16"
	$SIDTLS/nvme disconnect -n $NQN >/dev/null 2>&1
else
	fail "kernel nvme-tcp connects with nvme-cli's --tls --tls-key"
	cat /tmp/nvme-tls-connect.log
fi
tlshd_stop
nvmet_clear
