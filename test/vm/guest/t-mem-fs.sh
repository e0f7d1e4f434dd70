# Two memory volumes on one host sharing its two queues (and its backend
# tags, fewer than the devices' tags together): ext4 on each, 64 MiB written
# and read back after a remount with a dropped page cache.
modprobe ublk_drv
if ! start_daemon mem-fs --mem 256M --mem 128M --queues 2 --depth 32 --backend-depth 16 \
	--control-group nogroup; then
	fail "netublkd starts with two memory devices"; return
fi
pass "netublkd starts with two memory devices"
sock=/run/netublk/netublkd.sock
check "control socket: mode 0660, group nogroup (--control-group)" test "$(stat -c '%a %G' $sock)" = "660 nogroup"
check "a member of the control group asks for status" setpriv --reuid=nobody --regid=nogroup \
	--clear-groups "$BUILD/netublkctl" status
out=$(setpriv --reuid=daemon --regid=daemon --clear-groups "$BUILD/netublkctl" status 2>&1); rc=$?
check "anyone else is refused: exit 1" test $rc = 1
check "anyone else is told why" grep -q "Permission denied (root only, or" <<<"$out"
set -- $DEVS
check "two devices" test $# = 2
check "data mode is ${EXPECT_MODE:-?}" test "$DMODES" = "${EXPECT_MODE:-unset}"
check "device sizes" test "$(blockdev --getsize64 $1) $(blockdev --getsize64 $2)" = "268435456 134217728"

head -c 64M /dev/urandom >/tmp/data64
want=$(sha256sum </tmp/data64)
i=0
for dev in "$@"; do
	i=$((i + 1))
	mnt=/mnt/t$i
	mkdir -p $mnt
	check "mkfs.ext4 $dev" mkfs.ext4 -q -F "$dev"
	check "mount $dev" mount "$dev" $mnt
	cp /tmp/data64 $mnt/data && sync
	umount $mnt
	echo 3 >/proc/sys/vm/drop_caches
	mount "$dev" $mnt
	got=$(sha256sum <$mnt/data)
	check "64 MiB read back intact from $dev" test "$got" = "$want"
	umount $mnt
done
check "fsck clean on $1" e2fsck -fn "$1"

check "SIGTERM: exit 0" stop_daemon
check "stop removes /dev/ublkbN and /dev/ublkcN" no_ublk_devices
check "stats were logged for both devices" test "$(grep -c 'stats: read' "$DLOG")" = 2
