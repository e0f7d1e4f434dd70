# DH-HMAC-CHAP against the kernel's nvmet, keys made by nvme-cli: each hash
# and DH groups from null to ffdhe8192, one-way and both ways, shown in
# status per queue; a config with the keys in its secrets file: ext4, fio
# verify through a link outage (every queue connects and authenticates
# again) and through a key rotation (reload: authenticated again, devices
# untouched); wrong host key, wrong controller key and no key refused with
# a message naming who refused; then the kernel's nvme-tcp, with
# nvme-cli's --dhchap-secret and --dhchap-ctrl-secret and the same keys,
# reads back what netublk wrote.
modprobe ublk_drv
. "$HERE/../../nvmet-lib.sh"
nvmet_load || { fail "nvmet modules load"; return; }
NQN=nqn.2026-12.org.netublk:auth
HOSTNQN=nqn.2014-08.org.nvmexpress:uuid:4f9d2c61-7a3b-4e0c-9b1d-5c8e2f6a0d13
PORT=4424
nvmet_subsys $NQN
nvmet_ns $NQN 1 128 4096
nvmet_port 4 $PORT
nvmet_link $NQN 4
SPEC=address=127.0.0.1:$PORT,subsystem=$NQN,host_nqn=$HOSTNQN
# gen HMAC: a key for that transformation (0 none, 1..3 SHA-256..512), its hash's length.
gen() { nvme gen-dhchap-key --hmac="$1" --key-length=$((${1} ? 16 + 16 * $1 : 48)) --nqn="$HOSTNQN"; }
# security_all WANT: status says the admin queue authenticated so, and each
# I/O queue too, or (as nvmet asks only the admin queue) belongs to that
# association.
security_all() {
	"$BUILD/netublkctl" --json status | python3 -c "
import json, sys
p, want = json.load(sys.stdin)['targets'][0]['paths'], sys.argv[1]
assert len(p) == 3 and all(x['state'] == 'up' for x in p), p
assert p[0]['role'] == 'admin' and p[0]['security'] == want, p
assert all(x['security'] in (want, 'association: ' + want) for x in p[1:]), p
" "$1"
}

# nvmet hash, group; key transformation of the host key; bidirectional
for combo in "sha256 null 0 no" "sha384 ffdhe2048 1 yes" "sha512 ffdhe3072 2 yes" \
	"sha256 ffdhe4096 3 no" "sha384 ffdhe6144 1 yes" "sha512 ffdhe8192 2 no"; do
	set -- $combo
	key=$(gen "$3")
	ckey=
	[ "$4" = yes ] && ckey=$(gen 1)
	nvmet_auth_host $NQN $HOSTNQN "$key" "$ckey" "hmac($1)" "$2" ||
		{ fail "nvmet takes the keys ($combo)"; continue; }
	dir=unidirectional
	[ "$4" = yes ] && dir=bidirectional
	if ! start_daemon auth-$1-$2 --nvme "$SPEC,dhchap_secret=$key${ckey:+,dhchap_ctrl_secret=$ckey}" --queues 2; then
		fail "DH-HMAC-CHAP $1 $2 $dir: netublkd connects"; continue
	fi
	check "DH-HMAC-CHAP $1 $2 $dir: admin and both I/O queues authenticated (status)" \
		security_all "DH-HMAC-CHAP $1 $2 $dir"
	check "DH-HMAC-CHAP $1 $2 $dir: no key in the log" sh -c "! grep -qF -- '${key:10:20}' '$DLOG'"
	check "DH-HMAC-CHAP $1 $2 $dir: fio verify" fio_verify "${DEVS%% *}" 4k 8 4M
	check "DH-HMAC-CHAP $1 $2 $dir: SIGTERM: exit 0" stop_daemon
done

# Bidirectional, SHA-384, ffdhe2048, the keys in a secrets file.
key=$(gen 1)
ckey=$(gen 2)
nvmet_auth_host $NQN $HOSTNQN "$key" "$ckey" "hmac(sha384)" ffdhe2048
printf '[target a]\ndhchap_secret = %s\ndhchap_ctrl_secret = %s\n' "$key" "$ckey" >/tmp/auth.secrets
chmod 600 /tmp/auth.secrets
cat >/tmp/auth.conf <<CONF
[global]
queues = 2
host_nqn = $HOSTNQN
secrets = /tmp/auth.secrets
[target a]
transport = nvme-tcp
address = 127.0.0.1:$PORT
subsystem = $NQN
keep_alive_timeout = 2
reconnect_delay = 1
CONF
if ! start_daemon auth-conf --config /tmp/auth.conf; then
	fail "netublkd with the keys in its secrets file"; nvmet_clear; return
fi
pass "netublkd with the keys in its secrets file"
WANT="DH-HMAC-CHAP sha384 ffdhe2048 bidirectional"
check "status: authenticated, bidirectional" security_all "$WANT"
check "status (text) shows it per queue" sh -c "'$BUILD/netublkctl' status | grep -c '$WANT' | grep -qx 3"
dev=${DEVS%% *}
check "ext4 on the authenticated namespace: checksummed file after a remount" ext4_roundtrip "$dev" /mnt/au
# A link outage during fio verify: every queue is connected and authenticated again.
check "fio verify through a link outage: exit 0, no error" fio_during au "$dev" 2 link_outage
check "the controller was associated again" grep -q "associated again" "$DLOG"
for _ in $(seq 1 50); do security_all "$WANT" 2>/dev/null && break; sleep 0.2; done
check "after the outage every queue is authenticated again" security_all "$WANT"

# Keys rotated on the target and in the secrets file, reload during fio
# verify: authenticated again with the new keys, same devices, no error.
key2=$(gen 2)
ckey2=$(gen 3)
ready_before=$(cat "$LOGDIR/ready")
rotate() {
	echo "$key2" >"$NVMET/hosts/$HOSTNQN/dhchap_key"
	echo "$ckey2" >"$NVMET/hosts/$HOSTNQN/dhchap_ctrl_key"
	printf '[target a]\ndhchap_secret = %s\ndhchap_ctrl_secret = %s\n' "$key2" "$ckey2" >/tmp/auth.secrets
	"$BUILD/netublkctl" reload >/dev/null
}
check "fio verify through a key rotation: exit 0, no error" fio_during rot "$dev" 1 rotate
check "reload: keys changed, authenticated again (log)" grep -q "keys changed: authenticating its connections again" "$DLOG"
check "reload: the same devices" test "$(cat "$LOGDIR/ready")" = "$ready_before"
for _ in $(seq 1 50); do security_all "$WANT" 2>/dev/null && break; sleep 0.2; done
check "after the rotation every queue is authenticated (new keys)" security_all "$WANT"
check "no key in the log" sh -c "! grep -qF -e '${key:10:20}' -e '${ckey2:10:20}' '$DLOG'"
head -c 16M /dev/urandom >/tmp/au16
dd if=/tmp/au16 of=$dev bs=1M seek=100 oflag=direct status=none && sync $dev
check "SIGTERM: exit 0" stop_daemon
check "no device left" no_ublk_devices

# Refused, saying who refused and why; nothing left behind.
out=$("$NETUBLKD" --nvme "$SPEC,dhchap_secret=$(gen 1),dhchap_ctrl_secret=$ckey2" 2>&1); rc=$?
check "wrong host key: exit 1, the controller refused the host" sh -c "test $rc = 1 && echo '$out' | grep -q 'the controller refused the host: authentication failed'"
out=$("$NETUBLKD" --nvme "$SPEC,dhchap_secret=$key2,dhchap_ctrl_secret=$(gen 3)" 2>&1); rc=$?
check "wrong controller key: exit 1, the host refused the controller" sh -c "test $rc = 1 && echo '$out' | grep -q 'the host refused the controller: its response does not match dhchap_ctrl_secret'"
out=$("$NETUBLKD" --nvme "$SPEC" 2>&1); rc=$?
check "no key: exit 1, says the controller requires one" sh -c "test $rc = 1 && echo '$out' | grep -q 'requires DH-HMAC-CHAP authentication: set dhchap_secret'"
check "no device after refusals" no_ublk_devices

# Two targets, the second with a wrong key: the first serves, the second is
# refused (saying so, and retried), and the refusal touches nothing else.
NQN2=nqn.2026-12.org.netublk:auth2
nvmet_subsys $NQN2
nvmet_ns $NQN2 2 32 4096
nvmet_link $NQN2 4
# nvmet keeps keys per host NQN: target b is another host of its own.
HOSTNQN2=nqn.2014-08.org.nvmexpress:uuid:4f9d2c61-7a3b-4e0c-9b1d-5c8e2f6a0d14
nvmet_auth_host $NQN2 $HOSTNQN2 "$(gen 1)" "" "hmac(sha256)" null
printf '[target a]\ndhchap_secret = %s\ndhchap_ctrl_secret = %s\n[target b]\ndhchap_secret = %s\n' \
	"$key2" "$ckey2" "$(gen 1)" >/tmp/auth.secrets
cat >>/tmp/auth.conf <<CONF
[target b]
transport = nvme-tcp
address = 127.0.0.1:$PORT
subsystem = $NQN2
host_nqn = $HOSTNQN2
reconnect_delay = 1
CONF
if start_daemon auth-two --config /tmp/auth.conf; then
	check "two targets, one with a wrong key: the other serves (one device)" test "$(wc -l <"$LOGDIR/ready")" = 1
	check "the wrong key's target: refused, named, retried" sh -c "grep -q '$NQN2.*the controller refused the host: authentication failed' '$DLOG' && grep -q 'target b .* is not served; retrying' '$DLOG'"
	check "the good target serves I/O meanwhile" fio_verify "${DEVS%% *}" 4k 8 4M
	check "SIGTERM: exit 0" stop_daemon
else
	fail "netublkd with one good and one wrong-key target"
fi
check "no device left" no_ublk_devices

# The kernel's initiator with nvme-cli and the same keys reads what netublk wrote.
modprobe nvme-tcp
if nvme connect -t tcp -a 127.0.0.1 -s $PORT -n $NQN --hostnqn=$HOSTNQN \
	--dhchap-secret="$key2" --dhchap-ctrl-secret="$ckey2" >/tmp/nvme-auth-connect.log 2>&1; then
	kdev=
	for _ in $(seq 1 50); do
		for b in /sys/block/nvme*n*; do
			case $b in *c[0-9]*n*) continue ;; esac
			[ "$(cat "$b/device/subsysnqn" 2>/dev/null)" = $NQN ] && kdev=/dev/${b##*/}
		done
		[ -n "$kdev" ] && break
		sleep 0.1
	done
	check "kernel nvme-tcp (same key files): reads back netublk's data" sh -c "dd if=$kdev bs=1M skip=100 count=16 iflag=direct status=none | cmp -s - /tmp/au16"
	nvme disconnect -n $NQN >/dev/null 2>&1
else
	fail "kernel nvme-tcp connects with nvme-cli's --dhchap-secret/--dhchap-ctrl-secret"
	cat /tmp/nvme-auth-connect.log
fi
nvmet_clear
