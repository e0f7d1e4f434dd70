# kill -9 of netublkd during fio verify: the device stays (UBLK_F_USER_RECOVERY),
# a new netublkd takes it over (START/END_USER_RECOVERY), in-flight I/O is
# reissued, and fio finishes with verified data and no error.
modprobe ublk_drv
. "$HERE/../../tgt-lib.sh"
tgt_start || { fail "tgtd starts"; return; }
IQN=iqn.2026-11.org.netublk:crash
tgt_target 1 $IQN && tgt_lun 1 1 64
SPEC=portal=127.0.0.1:$TGT_PORT,target=$IQN
if ! start_daemon recovery1 --iscsi "$SPEC" --queues 2; then
	fail "netublkd starts"; tgt_stop; return
fi
dev=${DEVS%% *}
check "state recorded for recovery" test -f /run/netublk/state/ublk${dev#/dev/ublkb}
fio --name=crash --filename=$dev --ioengine=io_uring --direct=1 --rw=randwrite --bs=4k \
	--iodepth=16 --size=24M --verify=crc32c --do_verify=1 --verify_fatal=1 --loops=3 \
	>"$LOGDIR/fio-crash.out" 2>&1 &
fio_pid=$!
sleep 3
kill -9 $DPID; wait $DPID 2>/dev/null
check "the device outlives netublkd" test -b $dev
sleep 1
mv "$DLOG" "$LOGDIR/recovery1-before-crash.log"
if ! start_daemon recovery2 --iscsi "$SPEC" --queues 2; then
	fail "a new netublkd starts"; kill $fio_pid; tgt_stop; return
fi
check "the new netublkd recovered the same device" grep -q "$dev: recovered" "$DLOG"
check "no second device" test "$(echo $DEVS)" = "$dev"
wait $fio_pid; rc=$?
check "fio verify through the crash: exit 0, no error" sh -c "test $rc = 0 && grep -q 'err= 0' $LOGDIR/fio-crash.out"
[ $rc = 0 ] || tail -n 20 "$LOGDIR/fio-crash.out"
check "SIGTERM: exit 0" stop_daemon
check "no device left" no_ublk_devices
check "no state left" sh -c "test -z \"\$(ls /run/netublk/state 2>/dev/null)\""
tgt_stop
