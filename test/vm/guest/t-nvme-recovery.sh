# NVMe/TCP when things die. (1) The target stops answering (the loopback
# link goes down for 5 s during fio verify): Keep Alive notices within
# KATO, the controller is associated again, in-flight I/O is resent, fio
# verifies every block. (2) kill -9 of netublkd during fio verify: a new
# netublkd takes the device over (USER_RECOVERY), fio finishes verified.
modprobe ublk_drv
. "$HERE/../../nvmet-lib.sh"
nvmet_load || { fail "nvmet modules load"; return; }
NQN=nqn.2026-11.org.netublk:nvme2
nvmet_subsys $NQN
nvmet_ns $NQN 1 128 4096
nvmet_port 2 4421
nvmet_link $NQN 2
SPEC=address=127.0.0.1:4421,subsystem=$NQN,keep_alive_timeout=2,reconnect_delay=1

if ! start_daemon nvme-ka --nvme "$SPEC" --queues 2; then
	fail "netublkd connects"; nvmet_clear; return
fi
check "data mode $EXPECT_MODE (no data digest)" test "$DMODES" = "$EXPECT_MODE"
dev=${DEVS%% *}
fio --name=ka --filename=$dev --ioengine=io_uring --direct=1 --rw=randwrite --bs=4k \
	--iodepth=16 --size=32M --verify=crc32c --do_verify=1 --verify_fatal=1 --loops=4 \
	>"$LOGDIR/fio-ka.out" 2>&1 &
fio_pid=$!
sleep 2
ip link set lo down
t0=$(date +%s.%N)
for _ in $(seq 1 100); do grep -q "keep-alive not answered" "$DLOG" && break; sleep 0.1; done
t1=$(date +%s.%N)
sleep 3
ip link set lo up
check "a silent target is noticed within KATO (2 s)" sh -c "grep -q 'keep-alive not answered within KATO' '$DLOG' && awk 'BEGIN{exit !($t1 - $t0 <= 2.5)}'"
wait $fio_pid; rc=$?
check "fio verify through the outage: exit 0, no error" sh -c "test $rc = 0 && grep -q 'err= 0' $LOGDIR/fio-ka.out"
[ $rc = 0 ] || tail -n 20 "$LOGDIR/fio-ka.out"
check "the controller was associated again" grep -q "associated again" "$DLOG"
check "the I/O queues reconnected" grep -q "nvme q[01]: reconnected" "$DLOG"
json=$("$BUILD/netublkctl" --json status)
check "status --json: every queue up again, each reconnect counted" python3 -c "
import json, sys
p = json.loads(sys.argv[1])['targets'][0]['paths']
assert len(p) == 3 and all(x['state'] == 'up' for x in p), p
assert p[0]['role'] == 'admin' and p[0]['reconnects'] >= 1, p
assert sum(x['reconnects'] for x in p[1:]) >= 1, p
" "$json"
check "SIGTERM: exit 0" stop_daemon
check "no device left" no_ublk_devices

if ! start_daemon nvme-crash1 --nvme "$SPEC" --queues 2; then
	fail "netublkd starts"; nvmet_clear; return
fi
crash_recover nvme-crash2 --nvme "$SPEC" --queues 2 || { nvmet_clear; return; }
check "SIGTERM: exit 0" stop_daemon
check "no device left" no_ublk_devices
nvmet_clear
