# netublkd against tgtd inside the VM: every LUN a /dev/ublkbN; ext4 and
# checksums; fio verify; discard reaches the target's file; what netublk
# wrote is exactly what the target stored (its backing file, read directly).
modprobe ublk_drv
. "$HERE/../../tgt-lib.sh"
tgt_start || { fail "tgtd starts"; return; }
IQN=iqn.2026-11.org.netublk:vm
tgt_target 1 $IQN && tgt_lun 1 1 256 && tgt_lun 1 2 64 4096
for l in 1 2; do
	tgtadm -C $TGT_CTRL --lld iscsi --op update --mode logicalunit --tid 1 --lun $l \
		--params thin_provisioning=1
done
if ! start_daemon iscsi-tgtd --iscsi portal=127.0.0.1:$TGT_PORT,target=$IQN --queues 2 --depth 32; then
	fail "netublkd logs in and serves the LUNs"; tgt_stop; return
fi
pass "netublkd logs in and serves the LUNs"
set -- $DEVS
check "one device per LUN" test $# = 2
check "sizes and block sizes from the target" test "$(blockdev --getsize64 $1):$(blockdev --getss $1) $(blockdev --getsize64 $2):$(blockdev --getss $2)" = "268435456:512 67108864:4096"
check "data mode ${EXPECT_COPY_MODE:-?} (the transport sees the data)" test "$DMODES" = "${EXPECT_COPY_MODE:-unset}"

head -c 32M /dev/urandom >/tmp/d32
want=$(sha256sum </tmp/d32)
mkdir -p /mnt/i1
check "mkfs.ext4 on the iSCSI LUN" mkfs.ext4 -q -F $1
check "mount" mount $1 /mnt/i1
cp /tmp/d32 /mnt/i1/data && sync
umount /mnt/i1; echo 3 >/proc/sys/vm/drop_caches; mount $1 /mnt/i1
check "32 MiB file intact after remount" test "$(sha256sum </mnt/i1/data)" = "$want"
umount /mnt/i1
check "fio verify 4k QD1" fio_verify $2 4k 1 4M
check "fio verify 4k QD32 on both LUNs" fio_verify "$1:$2" 4k 32 8M
check "fio verify 1M QD4" fio_verify $2 1M 4 32M
check "fio verify 128k QD32" fio_verify $1 128k 32 32M

# What we write is what the target stores: compare with its backing file.
dd if=/tmp/d32 of=$2 bs=1M oflag=direct status=none
check "fsync (SYNCHRONIZE CACHE) succeeds" sync $2
check "target's backing file holds exactly what was written" cmp -n 32M /tmp/d32 "$TGT_DIR/t1-l2.img"
before=$(du -k "$TGT_DIR/t1-l2.img" | cut -f1)
if [ "$(cat /sys/block/${2#/dev/}/queue/discard_max_bytes)" != 0 ]; then
	check "blkdiscard 16 MiB (UNMAP)" blkdiscard -o 0 -l 16M $2
	after=$(du -k "$TGT_DIR/t1-l2.img" | cut -f1)
	check "discard freed space in the target's file ($before -> $after KiB)" test $after -lt $before
	check "discarded range reads as zeroes" cmp -n 16M $2 /dev/zero
else
	fail "discard exported for a thin-provisioned LUN"
fi
check "SIGTERM: exit 0" stop_daemon
check "no device left" no_ublk_devices
check "no I/O errors logged" sh -c "! grep -q 'errors [1-9]' '$DLOG'"
tgt_stop
