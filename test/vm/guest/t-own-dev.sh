# netublkd with a /dev of its own, as in a container given /dev/ublk-control
# only: no devtmpfs makes the nodes of the devices it creates there, so it
# makes them itself from the numbers sysfs reports, serves I/O through them
# (read back through the VM's own devtmpfs node, the same device), and
# removes them when the devices go: a stale node would reach the next
# device that gets its numbers.
modprobe ublk_drv
cat >/tmp/owndev-wrap.sh <<'WRAP'
#!/bin/sh
# A private mount namespace with an empty /dev but the control device.
mount -t tmpfs -o mode=755 owndev /dev || exit 1
mknod /dev/ublk-control c $(tr : ' ' </sys/class/misc/ublk-control/dev) || exit 1
mknod /dev/null c 1 3
# Keeps the namespace after netublkd exits, to look at its /dev then.
sleep 600 </dev/null >/dev/null 2>&1 &
echo $! >/tmp/owndev-holder.pid
exec "$@"
WRAP
chmod +x /tmp/owndev-wrap.sh
NETUBLKD_WRAP="unshare -m --propagation private /tmp/owndev-wrap.sh"
if ! start_daemon own-dev --mem 32M --queues 1; then
	fail "netublkd starts with a /dev of its own"; NETUBLKD_WRAP=; return
fi
NETUBLKD_WRAP=
dev=${DEVS%% *} id=${dev#/dev/ublkb}
check "its /dev had no device nodes but the control device at start" \
	grep -q "made /dev/ublkc$id (char" $DLOG
check "it made both nodes itself, from sysfs' numbers" sh -c "
	grep -q 'made /dev/ublkb$id (block $(cat /sys/class/block/ublkb$id/dev)): no devtmpfs' $DLOG &&
	test \"\$(nsenter -t $DPID -m -r -w stat -c '%t:%T' /dev/ublkb$id)\" = \"\$(stat -c '%t:%T' $dev)\""
head -c 4M /dev/urandom >/tmp/owndev.data
check "writes through its own node, read back through devtmpfs': the same device" sh -c "
	nsenter -t $DPID -m -r -w dd if=/tmp/owndev.data of=/dev/ublkb$id bs=1M oflag=direct 2>/dev/null &&
	dd if=$dev bs=1M count=4 iflag=direct 2>/dev/null | cmp - /tmp/owndev.data"
check "SIGTERM: exit 0" stop_daemon
holder=$(cat /tmp/owndev-holder.pid)
check "the nodes it made are gone with the devices, the control device stays" \
	nsenter -t $holder -m -r -w sh -c "test ! -e /dev/ublkb$id && test ! -e /dev/ublkc$id && test -c /dev/ublk-control"
kill $holder
check "no device left" no_ublk_devices
