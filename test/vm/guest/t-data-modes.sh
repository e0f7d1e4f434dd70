# Every data mode the kernel offers moves data exactly; the ones it lacks
# are refused with a reason, leaving no device.
modprobe ublk_drv
for mode in copy user-copy zero-copy; do
	if [ "$mode" = zero-copy ] && [ "${EXPECT_MODE}" != zero-copy ]; then
		out=$("$NETUBLKD" --mem 16M --data-mode zero-copy 2>&1); rc=$?
		check "zero-copy refused on this kernel (exit 1)" test $rc = 1
		check "zero-copy refusal names AUTO_BUF_REG" grep -q AUTO_BUF_REG <<<"$out"
		check "no device left after refusal" no_ublk_devices
		continue
	fi
	if ! start_daemon mode-$mode --mem 64M --queues 2 --data-mode $mode; then
		fail "netublkd --data-mode $mode starts"; continue
	fi
	check "data mode $mode in use" test "$DMODES" = "$mode"
	check "$mode: fio verify 4k qd32" fio_verify "${DEVS%% *}" 4k 32 8M
	check "$mode: fio verify 256k qd8" fio_verify "${DEVS%% *}" 256k 8 32M
	check "$mode: SIGTERM exit 0" stop_daemon
done
check "no device left" no_ublk_devices
