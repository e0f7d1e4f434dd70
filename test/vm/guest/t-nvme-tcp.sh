# netublkd against the kernel's NVMe/TCP target (nvmet, configured through
# configfs): discovery, three namespaces of different sizes and block
# sizes, digests on, a filesystem, fio verify, discard and flush, namespaces
# added and removed while running; then the kernel's own nvme-tcp initiator
# reads back what netublk wrote.
modprobe ublk_drv
. "$HERE/../../nvmet-lib.sh"
nvmet_load || { fail "nvmet modules load"; return; }
NQN=nqn.2026-11.org.netublk:nvme1
PORT=4420
nvmet_subsys $NQN
nvmet_ns $NQN 1 256 512
nvmet_ns $NQN 2 128 4096
nvmet_ns $NQN 3 64 512
nvmet_port 1 $PORT
nvmet_link $NQN 1
SPEC=address=127.0.0.1:$PORT,subsystem=$NQN

out=$("$NETUBLKD" --nvme-discover address=127.0.0.1:$PORT 2>&1)
check "discovery log lists the subsystem" grep -q "tcp 127.0.0.1:$PORT $NQN\$" <<<"$out"
out=$("$NETUBLKD" --nvme "address=127.0.0.1:$PORT,subsystem=nqn.2026-11.org.netublk:nope" 2>&1); rc=$?
check "unknown subsystem: exit 1" test $rc = 1
check "unknown subsystem: says Connect was refused" grep -q "Connect of queue 0 to nqn.2026-11.org.netublk:nope refused" <<<"$out"
check "no device after a refused connect" no_ublk_devices

if ! start_daemon nvme-tcp --nvme "$SPEC,header_digest=crc32c,data_digest=crc32c" --queues 2 --log-level debug; then
	fail "netublkd connects to nvmet"; return
fi
pass "netublkd connects to nvmet with header and data digests"
check "digests on" grep -q "digests on/on" "$DLOG"
set -- $DEVS
check "three devices, one per namespace" test $# = 3
d1=$1 d2=$2 d3=$3
check "namespace 1: 256 MiB of 512-byte blocks" test "$(blockdev --getss --getsize64 $d1 | tr '\n' ' ')" = "512 268435456 "
check "namespace 2: 128 MiB of 4096-byte blocks" test "$(blockdev --getss --getsize64 $d2 | tr '\n' ' ')" = "4096 134217728 "
check "namespace 3: 64 MiB of 512-byte blocks" test "$(blockdev --getss --getsize64 $d3 | tr '\n' ' ')" = "512 67108864 "
check "by-id link by WWID (as the kernel's wwid)" test "$(readlink /run/netublk/by-id/uuid.00000002-0000-4000-8000-000000000002)" = "$d2"
check "by-id link by subsystem and namespace" test "$(readlink /run/netublk/by-id/$NQN-ns3)" = "$d3"

# A filesystem with checksummed files, across a remount.
mkfs.ext4 -q -F "$d1" && mkdir -p /mnt/nv && mount "$d1" /mnt/nv &&
	for i in 1 2 3 4; do head -c 8M /dev/urandom >/mnt/nv/f$i; done &&
	(cd /mnt/nv && sha256sum f* >/tmp/nv.sum) && umount /mnt/nv && mount "$d1" /mnt/nv
check "ext4: checksummed files after a remount" sh -c "cd /mnt/nv && sha256sum -c --quiet /tmp/nv.sum"
umount /mnt/nv

check "fio verify 4k QD1 (4096-byte blocks)" fio_verify $d2 4k 1 8M
check "fio verify 4k QD32 (4096-byte blocks)" fio_verify $d2 4k 32 32M
check "fio verify 128k QD8 (512-byte blocks)" fio_verify $d3 128k 8 32M
check "fio verify 1M QD4 (512-byte blocks, R2T beyond in-capsule data)" fio_verify $d3 1M 4 48M
check "fio verify 512-byte I/O QD16" fio_verify $d3 512 16 4M --offset=48M

# Discard reaches the target: the loop device's file gets the hole punched.
loop3=$(nvmet_ns_dev $NQN 3)
dd if=/dev/urandom of=$d3 bs=1M count=8 seek=56 oflag=direct status=none
check "discard 8 MiB" blkdiscard -o $((56 << 20)) -l $((8 << 20)) $d3
dd if=$loop3 of=/tmp/nv-disc bs=1M skip=56 count=8 iflag=direct status=none
check "discarded range reads zeroes on the target side" cmp -n $((8 << 20)) /tmp/nv-disc /dev/zero
check "write zeroes" blkdiscard -z -o $((40 << 20)) -l $((4 << 20)) $d3
dd if=$d3 of=/tmp/nv-zero bs=1M skip=40 count=4 iflag=direct status=none
check "zeroed range reads zeroes" cmp -n $((4 << 20)) /tmp/nv-zero /dev/zero

# A namespace added on the target appears; a removed one goes away.
nvmet_ns $NQN 4 32 4096
for _ in $(seq 1 100); do [ "$(wc -l <"$LOGDIR/ready")" = 4 ] && break; sleep 0.1; done
check "namespace added while running: a fourth device" test "$(wc -l <"$LOGDIR/ready")" = 4
d4=$(awk 'END{print $1}' "$LOGDIR/ready")
for _ in $(seq 1 50); do [ -b "$d4" ] && break; sleep 0.1; done
check "the new namespace serves I/O" fio_verify $d4 4k 8 8M
nvmet_ns_remove $NQN 4
for _ in $(seq 1 100); do [ "$(wc -l <"$LOGDIR/ready")" = 3 ] && break; sleep 0.1; done
check "namespace removed while running: its device goes" test "$(wc -l <"$LOGDIR/ready")" = 3
for _ in $(seq 1 50); do [ -b "$d4" ] || break; sleep 0.1; done
check "the removed device node is gone" test ! -b "$d4"
check "its by-id links are gone" test ! -e /run/netublk/by-id/$NQN-ns4 -a ! -e /run/netublk/by-id/uuid.00000004-0000-4000-8000-000000000004

head -c 16M /dev/urandom >/tmp/x16
dd if=/tmp/x16 of=$d2 bs=1M oflag=direct status=none && sync $d2
check "SIGTERM: exit 0" stop_daemon
check "no device left" no_ublk_devices
check "flushes reached the target" grep -Eq "ublkb[0-9]+ stats: .*flush [1-9]" "$DLOG"
check "no I/O errors" sh -c "! grep -E 'stats: .*errors [1-9]' '$DLOG'"

# Without a data digest the payloads move zero copy where the kernel can
# (Linux 7.2: send from and receive into the requests' registered pages).
# The queue threads kept apart from the CPUs that submit to their queue.
if start_daemon nvme-zc --nvme "$SPEC" --queues 2 --queue-affinity apart; then
	check "no data digest: data mode $EXPECT_MODE" test "$DMODES" = "$EXPECT_MODE"
	check "queue threads off their blk-mq queue's CPUs (apart)" queues_placed apart
	set -- $DEVS
	c0=$(dev_stat $2 reads_copied_in)
	check "$EXPECT_MODE: fio verify 4k QD32" fio_verify $2 4k 32 32M
	# 8192 reads of 4 KiB: each came with a batch of PDUs and was copied in.
	copied_in_check "4k reads" "$c0" "$(dev_stat $2 reads_copied_in)" 8192
	c0=$(dev_stat $3 reads_copied_in)
	check "$EXPECT_MODE: fio verify 128k QD8" fio_verify $3 128k 8 32M
	check "$EXPECT_MODE: fio verify 1M QD4 (writes by R2T)" fio_verify $3 1M 4 48M
	copied_in_check "128k and 1M reads" "$c0" "$(dev_stat $3 reads_copied_in)" 0
	check "$EXPECT_MODE: fio verify 4k QD1, 512-byte blocks" fio_verify $1 4k 1 8M
	check "$EXPECT_MODE: fio verify mixed 4k..256k QD16" fio_verify $2 4k 16 32M \
		--bssplit=4k/40:8k/10:16k/10:20k/10:64k/10:256k/20
	# Reads among writes: the stream switches between batched receives
	# (writes only out) and exact ones (a zero-copy read out) all along.
	check "$EXPECT_MODE: fio verify 4k QD32, reads among the writes" fio_verify $2 4k 32 32M \
		--verify_backlog=8 --bssplit=4k/70:16k/10:64k/20
	dd if=/tmp/x16 of=$2 bs=1M oflag=direct status=none && sync $2
	check "SIGTERM: exit 0" stop_daemon
else
	fail "netublkd serves without digests"
fi

# The independent reader: the kernel's NVMe/TCP initiator.
if nvme_kernel_connect $NQN $PORT; then
	kdev=""
	for k in $KDEVS; do [ "$(blockdev --getss $k)" = 4096 ] && kdev=$k; done
	check "kernel initiator sees the namespaces" test -n "$kdev"
	check "kernel initiator reads back what netublk wrote ($kdev)" cmp -n 16M "$kdev" /tmp/x16
	nvme_kernel_disconnect $NQN
else
	fail "kernel initiator connects"; cat /tmp/nvme-connect.log
fi
# Config-driven connect-all: a discovery controller's subsystems, all served.
printf '[target site]\ntransport = nvme-tcp\naddress = 127.0.0.1:%s\ndiscover = yes\n' $PORT >/tmp/disc.conf
if start_daemon nvme-disc --config /tmp/disc.conf; then
	check "discover = yes: every namespace of the listed subsystem served" test "$(echo $DEVS | wc -w)" = 3
	check "discover = yes: served as a target named after the NQN" grep -Eq "discovered $NQN at 127.0.0.1:$PORT, served as target site-[0-9a-f]{8}" "$DLOG"
	check "SIGTERM: exit 0" stop_daemon
else
	fail "netublkd serves what a discovery controller lists"
fi
nvmet_clear
