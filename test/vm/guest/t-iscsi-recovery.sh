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
crash_recover recovery2 --iscsi "$SPEC" --queues 2 || { tgt_stop; return; }
check "SIGTERM: exit 0" stop_daemon
check "no device left" no_ublk_devices
check "no state left" sh -c "test -z \"\$(ls /run/netublk/state 2>/dev/null)\""
tgt_stop
