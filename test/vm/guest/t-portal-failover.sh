# Several portals per target tried in order (config: "portal = a, b, c",
# "address = a b", with multipath = no; t-multipath has them at once):
# netublk logs in through the first that answers, in order, and when that
# path dies for good it moves to the next while fio verify runs on both
# devices, without an I/O error. LIO listens on two portals (a third in
# the list is closed); nvmet offers the subsystem on two ports.
modprobe ublk_drv
. "$HERE/../../lio-lib.sh"
. "$HERE/../../nvmet-lib.sh"
lio_load && nvmet_load || { fail "LIO and nvmet load"; return; }
IQN=iqn.2026-11.org.netublk:paths
NQN=nqn.2026-11.org.netublk:paths
lio_target $IQN 3270
lio_target $IQN 3272
lio_fileio_lun $IQN /tmp/paths-lio.img 64
lio_open $IQN
lio_enable $IQN
nvmet_subsys $NQN
nvmet_ns $NQN 1 64 512
nvmet_port 1 4421
nvmet_port 2 4422
nvmet_link $NQN 1
nvmet_link $NQN 2
cat >/tmp/paths.conf <<CONF
[global]
queues = 2
[target lio]
portal = 127.0.0.1:3299, 127.0.0.1:3272, 127.0.0.1:3270
multipath = no
target = $IQN
[target nv]
transport = nvme-tcp
address = 127.0.0.1:4421 127.0.0.1:4422
multipath = no
subsystem = $NQN
keep_alive_timeout = 2
reconnect_delay = 1
CONF
if ! start_daemon paths --config /tmp/paths.conf; then
	fail "netublkd starts with two targets of several portals"; nvmet_clear; return
fi
pass "netublkd starts with two targets of several portals"
remotes() { # remotes TARGET: the remote addresses of its connections, sorted, unique
	"$BUILD/netublkctl" --json status | python3 -c "
import json, sys
t = {x['name']: x for x in json.load(sys.stdin)['targets']}['$1']
print(' '.join(sorted({p['remote'] for p in t['paths']})))"
}
check "iSCSI: the closed first portal skipped, sessions on the second" test "$(remotes lio)" = 127.0.0.1:3272
check "NVMe: admin and I/O queues on the first address" test "$(remotes nv)" = 127.0.0.1:4421
lio_dev=$(readlink /run/netublk/by-id/$IQN-lun0)
nv_dev=$(readlink /run/netublk/by-id/$NQN-ns1)
pids=
for d in $lio_dev $nv_dev; do
	fio --name=paths --filename=$d --ioengine=io_uring --direct=1 --rw=randwrite --bs=16k \
		--iodepth=16 --size=32M --verify=crc32c --do_verify=1 --verify_fatal=1 --loops=3 \
		>"$LOGDIR/fio-paths-${d#/dev/}.out" 2>&1 &
	pids="$pids $!"
done
sleep 3
# The paths in use go away for good: the portal and its sessions, the port.
rmdir "$(lio_tpg $IQN)/np/127.0.0.1:3272"
ss -K state established "( sport = :3272 )" >/dev/null 2>&1
rm "$NVMET/ports/1/subsystems/$NQN"
set -- $pids
wait $1; rc1=$?
wait $2; rc2=$?
check "fio verify on the iSCSI device through the failover: no error" \
	sh -c "test $rc1 = 0 && grep -q 'err= 0' $LOGDIR/fio-paths-${lio_dev#/dev/}.out"
check "fio verify on the NVMe device through the failover: no error" \
	sh -c "test $rc2 = 0 && grep -q 'err= 0' $LOGDIR/fio-paths-${nv_dev#/dev/}.out"
check "iSCSI: sessions moved to the third portal" test "$(remotes lio)" = 127.0.0.1:3270
check "NVMe: controller associated again through the second port" test "$(remotes nv)" = 127.0.0.1:4422
check "both moves counted as reconnects" sh -c "'$BUILD/netublkctl' status | grep -c 'reconnects [1-9]' | grep -qv '^0$'"
check "SIGTERM: exit 0" stop_daemon
check "no device left" no_ublk_devices
nvmet_clear
