# netublkd against the kernel's iSCSI target (LIO, configured through
# configfs) with CHAP: fio verify, then the kernel's own initiator
# (open-iscsi + iscsi_tcp) reads back what netublk wrote.
modprobe ublk_drv
. "$HERE/../../lio-lib.sh"
lio_load || { fail "LIO modules load"; return; }
IQN=iqn.2026-11.org.netublk:lio
INI=iqn.2026-11.org.netublk:guest
PORT=3260
lio_target $IQN $PORT
lio_fileio_lun $IQN /tmp/lio0.img 128
lio_chap $IQN $INI alice alice-secret-1 lio-target target-secret-2
lio_enable $IQN
SPEC=portal=127.0.0.1:$PORT,target=$IQN,initiator=$INI,chap_user=alice,chap_secret=alice-secret-1

out=$("$NETUBLKD" --iscsi "$SPEC,chap_secret=wrong-secret-9" 2>&1); rc=$?
check "LIO, wrong CHAP secret: exit 1" test $rc = 1
check "LIO, wrong CHAP secret: says authentication" grep -qi "authentication" <<<"$out"
check "no device after a failed login" no_ublk_devices

if ! start_daemon iscsi-lio --iscsi "$SPEC,mutual_user=lio-target,mutual_secret=target-secret-2,chap_algs=8:7:6:5,header_digest=crc32c,data_digest=crc32c" --queues 2 --log-level debug; then
	fail "netublkd logs in to LIO with mutual CHAP"; return
fi
pass "netublkd logs in to LIO with mutual CHAP (SHA3-256 offered first), digests on"
check "digests negotiated with LIO" grep -q "digests CRC32C/CRC32C" "$DLOG"
check "LIO chose CHAP with SHA3-256" grep -q "auth SHA3-256" "$DLOG"
dev=${DEVS%% *}
check "fio verify 4k QD32" fio_verify $dev 4k 32 16M
check "fio verify 256k QD8" fio_verify $dev 256k 8 32M
head -c 16M /dev/urandom >/tmp/x16
dd if=/tmp/x16 of=$dev bs=1M oflag=direct status=none && sync $dev
check "SIGTERM: exit 0" stop_daemon
check "no device left" no_ublk_devices

# Without a data digest: zero copy where the kernel can (Linux 7.2). Its
# writes go to the second half of the LUN for the kernel initiator to check.
if start_daemon iscsi-lio-zc --iscsi "$SPEC" --queues 2; then
	check "no data digest: data mode $EXPECT_MODE" test "$DMODES" = "$EXPECT_MODE"
	dev=${DEVS%% *}
	c0=$(dev_stat $dev reads_copied_in)
	check "$EXPECT_MODE: fio verify 4k QD32" fio_verify $dev 4k 32 16M --offset=64M
	# 4096 reads of 4 KiB: each came with a batch of PDUs and was copied in.
	c1=$(dev_stat $dev reads_copied_in)
	copied_in_check "4k reads" "$c0" "$c1" 4096
	check "$EXPECT_MODE: fio verify 1M QD4" fio_verify $dev 1M 4 32M --offset=64M
	copied_in_check "1M reads" "$c1" "$(dev_stat $dev reads_copied_in)" 0
	# Sizes on both sides of the stream's direct-receive threshold (16 KiB), mixed.
	check "$EXPECT_MODE: fio verify mixed 4k..256k QD16" fio_verify $dev 4k 16 32M --offset=64M \
		--bssplit=4k/40:8k/10:16k/10:20k/10:64k/10:256k/20
	# Reads among writes: batched receives while only writes are out, exact ones around reads.
	check "$EXPECT_MODE: fio verify 4k QD32, reads among the writes" fio_verify $dev 4k 32 16M \
		--offset=64M --verify_backlog=8 --bssplit=4k/70:16k/10:64k/20
	head -c 16M /dev/urandom >/tmp/y16
	dd if=/tmp/y16 of=$dev bs=1M seek=96 oflag=direct status=none && sync $dev
	dd if=$dev of=/tmp/y16.back bs=1M skip=96 count=16 iflag=direct status=none
	check "$EXPECT_MODE: reads back what it wrote" cmp /tmp/y16 /tmp/y16.back
	check "SIGTERM: exit 0" stop_daemon
else
	fail "netublkd serves LIO without digests"
fi

# The independent reader: the kernel initiator.
echo "InitiatorName=$INI" >/etc/iscsi/initiatorname.iscsi 2>/dev/null ||
	{ mkdir -p /etc/iscsi; echo "InitiatorName=$INI" >/etc/iscsi/initiatorname.iscsi; }
if kernel_login $IQN $PORT alice alice-secret-1 lio-target target-secret-2; then
	check "kernel initiator reads back what netublk wrote ($KDEV)" cmp -n 16M "$KDEV" /tmp/x16
	dd if=$KDEV of=/tmp/y16.kernel bs=1M skip=96 count=16 iflag=direct status=none
	check "... and what it wrote without a data digest ($EXPECT_MODE)" cmp /tmp/y16 /tmp/y16.kernel
	kernel_logout $IQN $PORT
else
	fail "kernel initiator logs in"; cat /tmp/iscsiadm.log
fi
pkill -x iscsid
