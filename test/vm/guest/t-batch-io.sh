# --batch-io: ublk requests fetched and committed in batches
# (UBLK_F_BATCH_IO, Linux 7.0+). Where the kernel has it: on by default
# for iSCSI only (auto), off with --batch-io off; every data mode moves
# data exactly with two devices sharing each queue ring (--batch-io on);
# NVMe/TCP zero copy (small reads copied in) too, and a netublkd killed
# mid-I/O is recovered by one that fetches in batches again; every stop
# releases its devices. Where the kernel lacks it, the option leaves the
# per-request commands.
modprobe ublk_drv
two_batch_devices() { test "$(grep -c 'data mode .*, batch I/O' "$DLOG")" = 2; }
# What ublk_qdev.c says when a batch command goes wrong.
no_batch_errors() {
	! grep -E "fetch [0-9] failed|cannot rearm|fetched tag|COMMIT_IO_CMDS took|PREP_IO_CMDS|batch commit" \
		"$LOGDIR"/batch-*.log
}

if ! "$NETUBLKD" --features 2>/dev/null | grep -qw BATCH_IO; then
	if start_daemon batch-none --mem 32M --batch-io on; then
		check "no BATCH_IO in this kernel: one command per request" \
			sh -c "! grep -q 'batch I/O' '$DLOG'"
		check "fio verify 4k qd32" fio_verify "${DEVS%% *}" 4k 32 8M
		check "SIGTERM: exit 0" stop_daemon
	else
		fail "netublkd --batch-io on starts"
	fi
	check "no device left" no_ublk_devices
	return
fi

if start_daemon batch-default --mem 16M; then
	check "memory backend: batch I/O is off by default" sh -c "! grep -q 'batch I/O' '$DLOG'"
	check "default: SIGTERM exit 0" stop_daemon
else
	fail "netublkd starts"
fi
for mode in copy user-copy zero-copy; do
	if ! start_daemon batch-$mode --mem 64M --mem 64M --queues 2 --data-mode $mode \
		--batch-io on; then
		fail "netublkd --data-mode $mode --batch-io on starts"; continue
	fi
	check "$mode: both devices fetch in batches" two_batch_devices
	check "$mode: fio verify 4k qd32 on two devices at once" \
		fio_verify "$(echo $DEVS | tr ' ' ':')" 4k 32 16M
	check "$mode: fio verify 4k qd1" fio_verify "${DEVS%% *}" 4k 1 4M
	check "$mode: fio verify 256k qd8" fio_verify "${DEVS##* }" 256k 8 32M
	check "$mode: SIGTERM exit 0" stop_daemon
	check "$mode: no device left" no_ublk_devices
done
check "no batch command went wrong" no_batch_errors

. "$HERE/../../tgt-lib.sh"
if tgt_start; then
	IQN=iqn.2026-11.org.netublk:batch
	tgt_target 1 $IQN && tgt_lun 1 1 64
	SPEC=portal=127.0.0.1:$TGT_PORT,target=$IQN
	if start_daemon batch-iscsi --iscsi "$SPEC" --queues 2; then
		check "iscsi: batch I/O by default" grep -q "data mode $EXPECT_MODE, batch I/O" "$DLOG"
		check "iscsi: fio verify 4k qd32" fio_verify "${DEVS%% *}" 4k 32 16M
		check "iscsi: fio verify 256k qd8" fio_verify "${DEVS%% *}" 256k 8 32M
		check "iscsi: SIGTERM exit 0" stop_daemon
	else
		fail "netublkd logs into tgtd"
	fi
	if start_daemon batch-iscsi-off --iscsi "$SPEC" --queues 2 --batch-io off; then
		check "iscsi --batch-io off: one command per request" \
			sh -c "! grep -q 'batch I/O' '$DLOG'"
		check "iscsi --batch-io off: fio verify 4k qd32" fio_verify "${DEVS%% *}" 4k 32 16M
		check "iscsi --batch-io off: SIGTERM exit 0" stop_daemon
	else
		fail "netublkd --batch-io off logs into tgtd"
	fi
	check "iscsi: no device left" no_ublk_devices
	tgt_stop
else
	fail "tgtd starts"
fi

. "$HERE/../../nvmet-lib.sh"
nvmet_load || { fail "nvmet modules load"; return; }
NQN=nqn.2026-11.org.netublk:batch
nvmet_subsys $NQN
nvmet_ns $NQN 1 128 4096
nvmet_port 5 4425
nvmet_link $NQN 5
SPEC=address=127.0.0.1:4425,subsystem=$NQN
if ! start_daemon batch-nvme --nvme "$SPEC" --queues 2 --batch-io on; then
	fail "netublkd --batch-io on connects to nvmet"; nvmet_clear; return
fi
check "nvme: batch I/O in use" grep -q "data mode $EXPECT_MODE, batch I/O" "$DLOG"
check "nvme: fio verify 4k qd32" fio_verify "${DEVS%% *}" 4k 32 16M
check "nvme: fio verify 128k qd16" fio_verify "${DEVS%% *}" 128k 16 64M
crash_recover batch-nvme2 --nvme "$SPEC" --queues 2 --batch-io on || { nvmet_clear; return; }
check "nvme: the recovered device fetches in batches" grep -q "recovered .*, batch I/O" "$DLOG"
check "nvme: SIGTERM exit 0" stop_daemon
check "nvme: no device left" no_ublk_devices
check "nvme: no batch command went wrong" no_batch_errors
nvmet_clear
