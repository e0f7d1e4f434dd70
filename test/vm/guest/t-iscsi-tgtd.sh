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
check "data mode ${EXPECT_MODE:-?} (no data digest: zero copy where the kernel can)" test "$DMODES" = "${EXPECT_MODE:-unset}"

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
# The target's LUN inventory changes while we run: a unit attention on the
# next command makes netublkd rescan.
poke() { dd if=$1 of=/dev/null bs=4k count=1 iflag=direct status=none; }
wait_devs() { # wait_devs N: until the ready file lists N devices
	for _ in $(seq 100); do
		[ "$(wc -l <"$LOGDIR/ready" 2>/dev/null)" = "$1" ] && return 0
		poke $1 2>/dev/null; sleep 0.2
	done
	return 1
}
tgt_lun 1 3 32
poke $1
check "a LUN added on the target appears as a new device" wait_devs 3
new=$(awk 'NR == 3 {print $1}' "$LOGDIR/ready")
check "the new device has the new LUN's size" test "$(blockdev --getsize64 $new 2>/dev/null)" = 33554432
check "fio verify on the new LUN" fio_verify "$new" 4k 8 4M
tgtadm -C $TGT_CTRL --lld iscsi --op delete --mode logicalunit --tid 1 --lun 3
poke $1
check "a LUN removed on the target goes away" wait_devs 2
check "its device node is gone" sh -c "! test -e $new"
# Resize LUN 2: same LUN, same identity, a bigger file.
if [ "${EXPECT_UPDATE_SIZE:-0}" = 1 ]; then
	tgtadm -C $TGT_CTRL --lld iscsi --op delete --mode logicalunit --tid 1 --lun 2 &&
		truncate -s 96M "$TGT_DIR/t1-l2.img" &&
		tgtadm -C $TGT_CTRL --lld iscsi --op new --mode logicalunit --tid 1 --lun 2 \
			-b "$TGT_DIR/t1-l2.img" --blocksize 4096
	for _ in $(seq 50); do
		poke $1
		[ "$(blockdev --getsize64 $2)" = 100663296 ] && break
		sleep 0.2
	done
	check "a LUN resized on the target is resized here (UPDATE_SIZE)" test "$(blockdev --getsize64 $2)" = 100663296
	check "the resized device still holds its data" cmp -i 16M:16M -n 16M /tmp/d32 $2
else
	skip "live resize: this kernel's ublk has no UPDATE_SIZE"
fi
check "SIGTERM: exit 0" stop_daemon
check "no device left" no_ublk_devices
check "no I/O errors logged" sh -c "! grep -q 'errors [1-9]' '$DLOG'"
tgt_stop
