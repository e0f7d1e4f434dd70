# fio verify (crc32c, io_uring engine, O_DIRECT) at QD1 and QD32, 4k and
# 128k, on two devices at once so their I/O shares the host's queues.
modprobe ublk_drv
if ! start_daemon mem-fio --mem 128M --mem 128M --queues 2 --depth 64 --backend-depth 32 \
	--queue-affinity blk-mq; then
	fail "netublkd starts"; return
fi
check "queue threads on their blk-mq queue's CPUs" queues_placed blk-mq
set -- $DEVS
for combo in "4k 1 8M" "4k 32 16M" "128k 1 32M" "128k 32 64M"; do
	set -- $combo
	bs=$1 qd=$2 size=$3
	check "fio verify bs=$bs qd=$qd on two devices at once" \
		fio_verify "$(echo $DEVS | tr ' ' ':')" $bs $qd $size
done
# 1 MiB requests are split by the kernel at max_sectors (512k): still exact.
check "fio verify bs=1M qd=4" fio_verify "${DEVS%% *}" 1M 4 64M
check "SIGTERM: exit 0" stop_daemon
check "no device left" no_ublk_devices
check "no I/O errors in the stats" sh -c "! grep -q 'errors [1-9]' '$DLOG'"
