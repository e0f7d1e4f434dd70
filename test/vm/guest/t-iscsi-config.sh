# netublkd --config: targets from a file, a secrets file, LUN filters and
# device options, an unreachable target that does not keep the others
# down, and config errors that name the file and the line.
modprobe ublk_drv
. "$HERE/../../tgt-lib.sh"
tgt_start || { fail "tgtd starts"; return; }
tgt_target 1 iqn.2026-11.org.netublk:open && tgt_lun 1 1 64 && tgt_lun 1 2 32
tgt_target 2 iqn.2026-11.org.netublk:chap && tgt_lun 2 1 48 && tgt_account 2 bob bob-secret-77
umask 077
cat >/tmp/secrets.conf <<SEC
[target chap]
chap_secret = bob-secret-77
SEC
cat >/tmp/netublk.conf <<CONF
[global]
initiator = iqn.2026-11.org.netublk:vm-config
queues = 2
secrets = /tmp/secrets.conf

[target open]
portal = 127.0.0.1:$TGT_PORT
target = iqn.2026-11.org.netublk:open
luns = 1

[target chap]
portal = 127.0.0.1:$TGT_PORT
target = iqn.2026-11.org.netublk:chap
chap_user = bob
read_only = yes

[target down]
portal = 127.0.0.1:1
target = iqn.2026-11.org.netublk:nowhere
CONF
umask 022
# systemd's Type=notify: READY=1 arrives on $NOTIFY_SOCKET once devices are up.
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/tmp/notify.sock")
s.settimeout(120)
print(s.recv(256).decode(), flush=True)
' >/tmp/notify.out 2>&1 &
notify_pid=$!
for _ in $(seq 100); do [ -S /tmp/notify.sock ] && break; sleep 0.1; done # python starts slowly under TCG
export NOTIFY_SOCKET=/tmp/notify.sock
if ! start_daemon config --config /tmp/netublk.conf; then
	fail "netublkd serves a config"; tgt_stop; return
fi
unset NOTIFY_SOCKET
pass "netublkd serves a config with an unreachable target in it"
wait $notify_pid
check "READY=1 sent to systemd's notify socket" grep -qx "READY=1" /tmp/notify.out
check "two devices: the filtered LUN and the CHAP target's" test "$(echo $DEVS | wc -w)" = 2
check "the unreachable target is reported" grep -q "target down .* is not served" "$DLOG"
check "the secret never reaches the log" sh -c "! grep -q bob-secret-77 '$DLOG'"
set -- $DEVS
sizes="$(blockdev --getsize64 $1) $(blockdev --getsize64 $2)"
check "LUN filter: only open's LUN 1 (64 MiB) and chap's LUN (48 MiB)" test "$sizes" = "67108864 50331648"
check "read_only = yes exports a read-only device" test "$(blockdev --getro $2)" = 1
check "fio verify on the open target's LUN" fio_verify $1 4k 16 8M
check "SIGTERM: exit 0" stop_daemon
check "no device left" no_ublk_devices

printf '[global]\nqueues = 99\n' >/tmp/bad.conf
out=$("$NETUBLKD" --config /tmp/bad.conf 2>&1); rc=$?
check "bad config: exit 2" test $rc = 2
check "bad config: names file and line" grep -q "/tmp/bad.conf:2: queues must be" <<<"$out"
chmod 644 /tmp/secrets.conf
out=$("$NETUBLKD" --config /tmp/netublk.conf 2>&1); rc=$?
check "secrets readable by others: refused (exit 2)" test $rc = 2
check "secrets readable by others: says chmod 600" grep -q "chmod 600" <<<"$out"
check "no device left after refusals" no_ublk_devices
tgt_stop
