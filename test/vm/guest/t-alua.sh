# iSCSI ALUA: one LIO LUN behind two target port groups (TPG 1 on one
# portal, TPG 2 on another, in ALUA groups 16 and 17). The failover
# selector uses the first path only among the best ALUA state: the
# non-optimized first path carries nothing while the optimized one is up.
# The optimized group put in standby during fio verify: no error, I/O
# moves; active/optimized again, it comes back (ALUA states polled).
modprobe ublk_drv
. "$HERE/../../lio-lib.sh"
lio_load || { fail "LIO loads"; return; }
IQN=iqn.2026-12.org.netublk:alua
T=$LIO/iscsi/$IQN
so=$LIO/core/fileio_9/alua0
truncate -s 48M /tmp/alua-lio.img
mkdir -p $so
echo "fd_dev_name=/tmp/alua-lio.img,fd_dev_size=$((48 << 20))" >$so/control
echo 1 >$so/enable
cat /proc/sys/kernel/random/uuid >$so/wwn/vpd_unit_serial
for g in 16 17; do
	mkdir -p $so/alua/g$g
	echo $g >$so/alua/g$g/tg_pt_gp_id
	echo 1 >$so/alua/g$g/alua_access_type # implicit
done
alua() { echo "$2" >"$so/alua/g$1/alua_access_state"; }
for t in 1 2; do
	tpg=$T/tpgt_$t
	mkdir -p $tpg/np/127.0.0.1:$((3299 + t)) $tpg/lun/lun_0
	ln -s $so $tpg/lun/lun_0/port0
	echo g$((15 + t)) >$tpg/lun/lun_0/alua_tg_pt_gp
	echo 0 >$tpg/attrib/authentication
	echo 1 >$tpg/attrib/generate_node_acls
	echo 1 >$tpg/attrib/cache_dynamic_acls
	echo 0 >$tpg/attrib/demo_mode_write_protect
	echo 1 >$tpg/enable
done
alua 16 1 # active/non-optimized
alua 17 0 # active/optimized
cat >/tmp/alua.conf <<CONF
[global]
queues = 2
[target lio]
portal = 127.0.0.1:3300, 127.0.0.1:3301
target = $IQN
path_selector = failover
CONF
if ! start_daemon alua --config /tmp/alua.conf; then
	fail "netublkd starts with an ALUA LUN behind two port groups"; return
fi
pass "netublkd starts with an ALUA LUN behind two port groups"
dev=$DEVS
ios() { # ios PATH
	"$BUILD/netublkctl" --json status | python3 -c "
import json, sys
t = json.load(sys.stdin)['targets'][0]
print(sum(p['ios'] for p in t['paths'] if p['path'] == $1))"
}
"$BUILD/netublkctl" path list | sed 's/^/    /'
check "path list shows each path's ALUA state" sh -c "
	'$BUILD/netublkctl' path list | grep -q ' 0 127.0.0.1:3300 .*lun0 active/non-optimized' &&
	'$BUILD/netublkctl' path list | grep -q ' 1 127.0.0.1:3301 .*lun0 active/optimized'"
dd if=/dev/urandom of=$dev bs=64k count=128 oflag=direct 2>/dev/null
check "the non-optimized first path carries nothing" test "$(ios 0)" = 0
check "the optimized second path carries everything" test "$(ios 1)" -ge 128

fio --name=alua --filename=$dev --ioengine=io_uring --direct=1 --rw=randwrite --bs=16k \
	--iodepth=16 --size=32M --verify=crc32c --do_verify=1 --verify_fatal=1 --loops=6 \
	>"$LOGDIR/fio-alua.out" 2>&1 &
fpid=$!
sleep 3
alua 17 2 # standby
sleep 5
moved=$(ios 0)
alua 17 0
wait $fpid; rc=$?
check "fio verify through the ALUA changes: no error" \
	sh -c "test $rc = 0 && grep -q 'err= 0' $LOGDIR/fio-alua.out"
check "with the optimized group in standby, the non-optimized path took the I/O" \
	test "$moved" -gt 0
# Failback once the state is read again (polled every 5 s), with I/O of our own.
for _ in $(seq 60); do
	[ "$(grep -c 'port group 17: active/optimized' $DLOG)" -ge 2 ] && break
	sleep 0.25
done
back0=$(ios 0) back1=$(ios 1)
dd if=/dev/urandom of=$dev bs=64k count=64 oflag=direct 2>/dev/null
check "active/optimized again, the I/O came back to it" sh -c "
	test $(ios 1) -ge $((back1 + 64)) && test $(ios 0) = $back0"
check "the state changes were read" sh -c "
	grep -q 'port group 17: standby' $DLOG && grep -q 'port group 17: active/optimized' $DLOG"
check "no I/O error reached the device" sh -c "! grep -q 'failed: ' $DLOG"
check "the data is the backing file's" cmp $dev /tmp/alua-lio.img
check "SIGTERM: exit 0" stop_daemon
check "no device left" no_ublk_devices
