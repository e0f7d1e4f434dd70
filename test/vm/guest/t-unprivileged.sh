# netublkd as an ordinary user (nobody) with UBLK_F_UNPRIVILEGED_DEV: the
# shipped udev rules open /dev/ublk-control to users and give each device
# to its owner through netublk-udev. Without them the daemon says what is
# missing; with them it serves an nvmet namespace in copy mode, the block
# device belongs to nobody, root puts ext4 on it, fio verifies it, the
# target's backing file holds what was written, and SIGTERM deletes it.
modprobe ublk_drv
. "$HERE/../../nvmet-lib.sh"
nvmet_load || { fail "nvmet modules load"; return; }
NQN=nqn.2026-11.org.netublk:unpriv
nvmet_subsys $NQN
nvmet_ns $NQN 1 128 512
nvmet_port 1 4420
nvmet_link $NQN 1

U=/tmp/unpriv
mkdir -p $U && chmod 0777 $U
# start_daemon runs $NETUBLKD with a ready file under $LOGDIR: both must be nobody's.
printf '#!/bin/sh\nexec setpriv --reuid=nobody --regid=nogroup --clear-groups %s "$@"\n' \
	"$BUILD/netublkd" >$U/netublkd-as-nobody
chmod 0755 $U/netublkd-as-nobody
ARGS="--nvme address=127.0.0.1:4420,subsystem=$NQN --queues 2 --control $U/ctl --by-id $U/by-id"

out=$($U/netublkd-as-nobody $ARGS 2>&1); rc=$?
check "without the udev rules: exit 1" test $rc = 1
check "without the udev rules: says /dev/ublk-control is not ours" \
	grep -q "cannot open /dev/ublk-control: permission denied" <<<"$out"
if ! "$BUILD/netublkd" --features 2>/dev/null | grep -qw UNPRIVILEGED_DEV; then
	skip "this kernel's ublk has no UBLK_F_UNPRIVILEGED_DEV"; return
fi

sed "s|/usr/local/sbin/netublk-udev|$BUILD/netublk-udev|" \
	"$HERE/../../../conf/90-netublk.rules" >/etc/udev/rules.d/90-netublk.rules
/lib/systemd/systemd-udevd --daemon >/dev/null 2>&1
udevadm trigger --action=add --sysname-match=ublk-control && udevadm settle -t 30
check "udev rule: /dev/ublk-control is 0666" test "$(stat -c %a /dev/ublk-control)" = 666

SAVED_LOGDIR=$LOGDIR NETUBLKD=$U/netublkd-as-nobody LOGDIR=$U
if ! start_daemon unpriv $ARGS; then
	LOGDIR=$SAVED_LOGDIR NETUBLKD=$BUILD/netublkd
	fail "netublkd starts as nobody"; udevadm control --exit; return
fi
cp "$DLOG" "$SAVED_LOGDIR/unpriv.log"
LOGDIR=$SAVED_LOGDIR NETUBLKD=$BUILD/netublkd
pass "netublkd starts as nobody"
dev=${DEVS%% *}
check "one device, in copy mode" test "$DEVS $DMODES" = "$dev copy"
check "the daemon runs as nobody" test "$(ps -o user= -p "$(pgrep -x netublkd)")" = nobody
check "log says why the device is unprivileged" grep -q "no CAP_SYS_ADMIN: making unprivileged ublk devices" "$DLOG"
udevadm settle -t 30
check "the block device belongs to nobody" test "$(stat -c %U $dev)" = nobody
check "the char device belongs to nobody" test "$(stat -c %U /dev/ublkc${dev#/dev/ublkb})" = nobody
json=$("$BUILD/netublkctl" -s $U/ctl --json status)
check "status --json: unprivileged, copy" python3 -c "
import json, sys
d = json.loads(sys.argv[1])['targets'][0]['devices'][0]
assert d['unprivileged'] is True and d['data_mode'] == 'copy', d
" "$json"
check "by-id link in the user's directory" test "$(readlink $U/by-id/$NQN-ns1)" = "$dev"
check "its owner reads the device" setpriv --reuid=nobody --regid=nogroup --clear-groups \
	dd if=$dev of=/dev/null bs=1M count=4 iflag=direct status=none

check "fio verify 4k QD16" fio_verify $dev 4k 16 32M
check "fio verify 256k QD4" fio_verify $dev 256k 4 32M --offset=32M
mkfs.ext4 -q -F $dev && mkdir -p /mnt/up && mount $dev /mnt/up &&
	head -c 16M /dev/urandom >/mnt/up/f && sha256sum </mnt/up/f >/tmp/up.sum &&
	umount /mnt/up && echo 3 >/proc/sys/vm/drop_caches && mount $dev /mnt/up
check "ext4: a checksummed file after a remount" sh -c "sha256sum </mnt/up/f | cmp -s - /tmp/up.sum"
umount /mnt/up
# The target's backing file, read beside netublk, holds what was written.
dd if=$dev of=/tmp/up-dev bs=1M count=64 iflag=direct status=none
dd if="$(nvmet_ns_dev $NQN 1)" of=/tmp/up-target bs=1M count=64 iflag=direct status=none
check "target's backing device matches the ublk device" cmp /tmp/up-dev /tmp/up-target

check "SIGTERM: exit 0" stop_daemon
check "SIGTERM deletes the unprivileged device" no_ublk_devices
udevadm control --exit
nvmet_clear
