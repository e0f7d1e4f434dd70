# NVMe ANA: a subsystem on two ports whose ANA group states differ. The
# failover selector takes the first path in order, but only among the
# best ANA state: a non-optimized path carries nothing while an optimized
# one is up. The optimized path turned inaccessible during fio verify:
# no error, I/O moves to the non-optimized one; optimized again, I/O
# comes back (failback).
modprobe ublk_drv
. "$HERE/../../nvmet-lib.sh"
nvmet_load || { fail "nvmet loads"; return; }
NQN=nqn.2026-12.org.netublk:ana
nvmet_subsys $NQN
nvmet_ns $NQN 1 48 512
nvmet_port 1 4451
nvmet_port 2 4452
ana() { echo "$2" >"$NVMET/ports/$1/ana_groups/1/ana_state"; }
ana 1 non-optimized
nvmet_link $NQN 1
nvmet_link $NQN 2
cat >/tmp/ana.conf <<CONF
[global]
queues = 2
[target nv]
transport = nvme-tcp
address = 127.0.0.1:4451 127.0.0.1:4452
subsystem = $NQN
path_selector = failover
keep_alive_timeout = 2
reconnect_delay = 1
CONF
if ! start_daemon ana --config /tmp/ana.conf; then
	fail "netublkd starts with an ANA subsystem on two ports"; nvmet_clear; return
fi
pass "netublkd starts with an ANA subsystem on two ports"
dev=$DEVS
ios() { # ios PATH: commands completed on that path, over its queues
	"$BUILD/netublkctl" --json status | python3 -c "
import json, sys
t = json.load(sys.stdin)['targets'][0]
print(sum(p['ios'] for p in t['paths'] if p['path'] == $1 and p['role'] != 'admin'))"
}
dd if=/dev/urandom of=$dev bs=64k count=128 oflag=direct 2>/dev/null
check "the non-optimized first path carries nothing" test "$(ios 0)" = 0
check "the optimized second path carries everything" test "$(ios 1)" -ge 128
check "the ANA states were read" grep -q 'ANA group 1 is non-optimized' $DLOG
"$BUILD/netublkctl" path list | sed 's/^/    /'
check "path list shows each path's ANA state" sh -c "
	'$BUILD/netublkctl' path list | grep -q '^nv .* 0 127.0.0.1:4451 .*ns1 non-optimized' &&
	'$BUILD/netublkctl' path list | grep -q '^nv .* 1 127.0.0.1:4452 .*ns1 optimized'"

fio --name=ana --filename=$dev --ioengine=io_uring --direct=1 --rw=randwrite --bs=16k \
	--iodepth=16 --size=32M --verify=crc32c --do_verify=1 --verify_fatal=1 --loops=4 \
	>"$LOGDIR/fio-ana.out" 2>&1 &
fpid=$!
sleep 3
ana 2 inaccessible
sleep 4
moved=$(ios 0)
ana 2 optimized
wait $fpid; rc=$?
check "fio verify through the ANA changes: no error" \
	sh -c "test $rc = 0 && grep -q 'err= 0' $LOGDIR/fio-ana.out"
check "with the optimized path inaccessible, the non-optimized one took the I/O" test "$moved" -gt 0
# Failback, once the change is read (fio may have ended by then: I/O of our own).
for _ in $(seq 50); do grep -q 'ANA group 1 inaccessible -> optimized' $DLOG && break; sleep 0.2; done
back0=$(ios 0) back1=$(ios 1)
dd if=/dev/urandom of=$dev bs=64k count=64 oflag=direct 2>/dev/null
check "back to optimized, the I/O came back to it" sh -c "
	test $(ios 1) -ge $((back1 + 64)) && test $(ios 0) = $back0"
check "the changes were followed (ANA change events)" sh -c "
	grep -q 'ANA group 1 optimized -> inaccessible' $DLOG &&
	grep -q 'ANA group 1 inaccessible -> optimized' $DLOG"
check "no I/O error reached the device" sh -c "! grep -q 'failed: ' $DLOG"
check "SIGTERM: exit 0" stop_daemon
check "no device left" no_ublk_devices
nvmet_clear
