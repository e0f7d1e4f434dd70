# Discard, write zeroes and flush reach the backend: the data goes away
# where discarded, stays where not, and the backend counted the requests.
modprobe ublk_drv
if ! start_daemon mem-discard --mem 64M --queues 1; then
	fail "netublkd starts"; return
fi
dev=${DEVS%% *}
head -c 16M /dev/urandom >/tmp/d16
dd if=/tmp/d16 of=$dev bs=1M oflag=direct status=none
check "discard granularity exported" test "$(cat /sys/block/${dev#/dev/}/queue/discard_granularity)" = 4096
check "write cache exported as write back" grep -q "write back" /sys/block/${dev#/dev/}/queue/write_cache
q=/sys/block/${dev#/dev/}/queue
if [ "${EXPECT_UPDATE_SIZE:-0}" = 1 ]; then
	check "segment limits from the backend (128 x 1 MiB)" test "$(cat $q/max_segments) $(cat $q/max_segment_size)" = "128 1048576"
	check "DMA alignment from the backend (512)" test "$(cat $q/dma_alignment)" = 511
else
	skip "DMA and segment parameters: 6.12 accepts and ignores these parameter types"
fi
check "blkdiscard of the first 4 MiB" blkdiscard -o 0 -l 4M $dev
check "discarded range reads as zeroes" cmp -n 4M $dev /dev/zero
check "the rest is untouched" sh -c "cmp -i 4M:4M -n 12M $dev /tmp/d16"
check "blkdiscard --zeroout of 4..8 MiB" blkdiscard -z -o 4M -l 4M $dev
check "zeroed range reads as zeroes" sh -c "cmp -i 4M:0 -n 4M $dev /dev/zero"
check "fsync of the device (flush)" sync $dev
check "SIGTERM: exit 0" stop_daemon
stats=$(grep 'stats:' "$DLOG")
echo "    $stats"
check "backend saw flushes" sh -c "echo '$stats' | grep -Eq 'flush [1-9]'"
check "backend saw discards" sh -c "echo '$stats' | grep -Eq 'discard [1-9][0-9]* ops'"
check "backend saw write-zeroes" sh -c "echo '$stats' | grep -Eq 'write-zeroes [1-9]'"
check "no device left" no_ublk_devices
