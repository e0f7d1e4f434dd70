# The daemon keeps serving through config changes: SIGHUP adds a target and
# removes another while fio verify runs on a third, with zero errors; a
# target that is down at start is retried and served once it appears.
modprobe ublk_drv
. "$HERE/../../tgt-lib.sh"
tgt_start || { fail "tgtd starts"; return; }
for t in 1 2 3; do tgt_target $t iqn.2026-11.org.netublk:r$t && tgt_lun $t 1 $((32 + 16 * t)); done
conf() { # conf TARGET_NUMBERS...: a config serving those targets (and 'late', down)
	{
		printf '[global]\nqueues = 2\n'
		for t in "$@"; do
			printf '[target r%s]\nportal = 127.0.0.1:%s\ntarget = iqn.2026-11.org.netublk:r%s\n' \
				$t $TGT_PORT $t
		done
		printf '[target late]\nportal = 127.0.0.1:%s\ntarget = iqn.2026-11.org.netublk:late\n' \
			$LATE_PORT
	} >/tmp/reload.conf
}
LATE_PORT=$((TGT_PORT + 1))
conf 1 2
if ! start_daemon reload --config /tmp/reload.conf; then
	fail "netublkd starts with a target down"; tgt_stop; return
fi
check "two devices at start, the down target reported" sh -c "test \$(wc -l <$LOGDIR/ready) = 2 && grep -q 'target late .* not served; retrying' $DLOG"
dev1=$(awk 'NR == 1 {print $1}' "$LOGDIR/ready")
# Long verify on r1 while the configuration changes under it.
fio --name=reload --filename=$dev1 --ioengine=io_uring --direct=1 --rw=randwrite --bs=4k \
	--iodepth=8 --size=16M --verify=crc32c --do_verify=1 --verify_fatal=1 --loops=4 \
	>"$LOGDIR/fio-reload.out" 2>&1 &
fio_pid=$!
sleep 1
conf 1 3
kill -HUP $DPID
for _ in $(seq 100); do
	grep -q "iqn.2026-11.org.netublk:r3" "$DLOG" && [ "$(wc -l <$LOGDIR/ready)" = 2 ] && break
	sleep 0.2
done
check "SIGHUP: r2 removed, r3 added (log)" sh -c "grep -q 'target r2 is no longer configured' $DLOG && grep -q 'target r3 is up' $DLOG"
check "SIGHUP: still two devices, r3's size (80 MiB) among them" sh -c "for d in \$(awk '{print \$1}' $LOGDIR/ready); do blockdev --getsize64 \$d; done | grep -qx 83886080"
# The late target appears: a second tgtd on the port netublkd keeps trying.
LATE_CTRL=$((TGT_CTRL + 1))
tgtd -f --iscsi portal=127.0.0.1:$LATE_PORT -C $LATE_CTRL >/tmp/tgtd-late.log 2>&1 &
late_pid=$!
for _ in $(seq 50); do tgtadm -C $LATE_CTRL --op show --mode system >/dev/null 2>&1 && break; sleep 0.1; done
tgtadm -C $LATE_CTRL --lld iscsi --op new --mode target --tid 1 -T iqn.2026-11.org.netublk:late
truncate -s 24M /tmp/late.img
tgtadm -C $LATE_CTRL --lld iscsi --op new --mode logicalunit --tid 1 --lun 1 -b /tmp/late.img
tgtadm -C $LATE_CTRL --lld iscsi --op bind --mode target --tid 1 -I ALL
for _ in $(seq 150); do grep -q "target late is up" "$DLOG" && break; sleep 0.2; done
check "the late target is served once it appears" grep -q "target late is up" "$DLOG"
check "three devices now" test "$(wc -l <$LOGDIR/ready)" = 3
wait $fio_pid; rc=$?
check "fio verify on the untouched target: no error through both changes" sh -c "test $rc = 0 && grep -q 'err= 0' $LOGDIR/fio-reload.out"
check "no I/O errors logged" sh -c "! grep -q 'errors [1-9]' '$DLOG'"
printf '[global]\nqueues = x\n' >/tmp/reload.conf
kill -HUP $DPID; sleep 1
check "a broken config on SIGHUP is refused and the old one kept" sh -c "grep -q 'keeping the running configuration' $DLOG && test \$(wc -l <$LOGDIR/ready) = 3"
check "SIGTERM: exit 0" stop_daemon
check "no device left" no_ublk_devices
tgtadm -C $LATE_CTRL --op delete --mode system >/dev/null 2>&1; kill -9 $late_pid 2>/dev/null
tgt_stop
