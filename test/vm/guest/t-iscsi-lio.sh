# netublkd against the kernel's iSCSI target (LIO, configured through
# configfs) with CHAP: fio verify, then the kernel's own initiator
# (open-iscsi + iscsi_tcp) reads back what netublk wrote.
modprobe ublk_drv
mountpoint -q /sys/kernel/config || { modprobe configfs; mount -t configfs none /sys/kernel/config; }
modprobe target_core_mod && modprobe iscsi_target_mod || { fail "LIO modules load"; return; }
CFS=/sys/kernel/config/target
IQN=iqn.2026-11.org.netublk:lio
INI=iqn.2026-11.org.netublk:guest
PORT=3260
TPG=$CFS/iscsi/$IQN/tpgt_1
SO=$CFS/core/fileio_0/lun0
truncate -s 128M /tmp/lio0.img
mkdir -p $SO
echo "fd_dev_name=/tmp/lio0.img,fd_dev_size=$((128 << 20))" >$SO/control
echo 1 >$SO/attrib/emulate_tpu 2>/dev/null
echo 1 >$SO/enable
mkdir -p $TPG/lun/lun_0 && ln -s $SO $TPG/lun/lun_0/port0
mkdir $TPG/np/127.0.0.1:$PORT
echo 1 >$TPG/attrib/authentication
echo 0 >$TPG/attrib/generate_node_acls
mkdir -p $TPG/acls/$INI
printf %s "$INI" >/dev/null
printf %s alice >$TPG/acls/$INI/auth/userid
printf %s alice-secret-1 >$TPG/acls/$INI/auth/password
printf %s lio-target >$TPG/acls/$INI/auth/userid_mutual
printf %s target-secret-2 >$TPG/acls/$INI/auth/password_mutual
mkdir -p $TPG/acls/$INI/lun_0 && ln -s $TPG/lun/lun_0 $TPG/acls/$INI/lun_0/lun0
echo 1 >$TPG/enable
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

# The independent reader: the kernel initiator.
mkdir -p /run/lock/iscsi /etc/iscsi
echo "InitiatorName=$INI" >/etc/iscsi/initiatorname.iscsi
modprobe iscsi_tcp; modprobe sd_mod
setsid iscsid -f >"$LOGDIR/iscsid.log" 2>&1 &
sleep 1
iscsiadm -m discovery -t st -p 127.0.0.1:$PORT >/dev/null 2>&1
iscsiadm -m node -T $IQN -p 127.0.0.1:$PORT -o update -n node.session.auth.authmethod -v CHAP
iscsiadm -m node -T $IQN -p 127.0.0.1:$PORT -o update -n node.session.auth.username -v alice
iscsiadm -m node -T $IQN -p 127.0.0.1:$PORT -o update -n node.session.auth.password -v alice-secret-1
iscsiadm -m node -T $IQN -p 127.0.0.1:$PORT -o update -n node.session.auth.username_in -v lio-target
iscsiadm -m node -T $IQN -p 127.0.0.1:$PORT -o update -n node.session.auth.password_in -v target-secret-2
if iscsiadm -m node -T $IQN -p 127.0.0.1:$PORT --login >"$LOGDIR/iscsiadm.log" 2>&1; then
	sd=
	for _ in $(seq 50); do
		sd=$(ls -d /sys/class/iscsi_session/session*/device/target*/*/block/* 2>/dev/null | head -1)
		[ -n "$sd" ] && break; sleep 0.2
	done
	sd=/dev/$(basename "$sd")
	check "kernel initiator reads back what netublk wrote ($sd)" cmp -n 16M "$sd" /tmp/x16
	iscsiadm -m node -T $IQN -p 127.0.0.1:$PORT --logout >/dev/null 2>&1
else
	fail "kernel initiator logs in"; cat "$LOGDIR/iscsiadm.log"
fi
pkill -x iscsid
