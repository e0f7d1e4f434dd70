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

# netublkctl over the control socket, and the stable names.
CTL=$BUILD/netublkctl
check "control socket is root-only (0600)" test "$(stat -c %a /run/netublk/netublkd.sock)" = 600
out=$("$CTL" status 2>&1)
echo "$out" | sed 's/^/    /'
# The down one is between attempts (retrying) or in one (connecting): the
# status may be taken at either moment.
check "status: both targets up, the down one retrying" sh -c "echo '$out' | grep -Eq '^open +up' && echo '$out' | grep -Eq '^chap +up' && echo '$out' | grep -Eq '^down +(retrying|connecting)'"
check "status: the devices with their sizes" sh -c "echo '$out' | grep -q '$1 .* 64 MiB' && echo '$out' | grep -q '$2 .* 48 MiB'"
"$CTL" --json status >/tmp/status.json
check "status --json parses and lists 2 devices with WWIDs" python3 -c '
import json
s = json.load(open("/tmp/status.json"))
devs = [d for t in s["targets"] for d in t["devices"]]
assert s["version"] == 1 and len(devs) == 2, devs
assert all(d["wwid"].startswith("naa.") and d["data_mode"] for d in devs), devs
'
wwid=$(python3 -c 'import json; print(json.load(open("/tmp/status.json"))["targets"][0]["devices"][0]["wwid"])')
check "stable name by WWID links to the device" test "$(readlink /run/netublk/by-id/$wwid)" = "$1"
check "stable name by target and LUN" test "$(readlink /run/netublk/by-id/iqn.2026-11.org.netublk:open-lun1)" = "$1"
check "netublkctl rescan" sh -c "'$CTL' rescan | grep -q rescanned"
out=$("$CTL" frobnicate 2>&1); rc=$?
check "unknown command: exit 1 with the list of commands" sh -c "test $rc = 1 && echo '$out' | grep -q 'status, rescan, reload'"
check "SIGTERM: exit 0" stop_daemon
check "no device left" no_ublk_devices
check "links and socket gone" sh -c "! test -e /run/netublk/netublkd.sock && test -z \"\$(ls /run/netublk/by-id)\""

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
